"""``GET /jobs/{id}/events``: a job's progress as server-sent events.

An event ``job`` (the job JSON, as ``GET /jobs/{id}`` answers) whenever its state or
progress changes, then ``end`` once it finished (or was removed). The ledger is read from
a thread every ``POLL_SECONDS``, never on the event loop; a client that goes away ends
its stream (sse-starlette cancels it), and the job runs on.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from sse_starlette.sse import EventSourceResponse, ServerSentEvent

from ingest.server.errors import RequestError
from ingest.server.jobs import Jobs, describe
from ingest.server.queue import FINISHED
from ingest.server.routes.jobs import jobs_of

router = APIRouter()
POLL_SECONDS = 0.25
PING_SECONDS = 15  # a comment line now and then, so proxies keep an idle stream open


@router.get("/jobs/{job_id}/events")
async def events(request: Request, job_id: str) -> EventSourceResponse:
    """The job's changes as they happen, until it ends; a 404 for an unknown job."""
    jobs = jobs_of(request)
    first = await asyncio.to_thread(_view, jobs, job_id)
    if first is None:
        raise RequestError(404, f"no job {job_id!r}")
    stopping = request.app.state.service.shared.stopping
    return EventSourceResponse(_changes(jobs, job_id, first, stopping.is_set), ping=PING_SECONDS)


async def _changes(
    jobs: Jobs, job_id: str, view: dict[str, Any] | None, stopping: Any
) -> AsyncIterator[ServerSentEvent]:
    last: tuple[str, float] | None = None
    while view is not None:
        mark = (view["state"], view["progress"])
        if mark != last:
            last = mark
            yield ServerSentEvent(json.dumps(view), event="job", id=f"{view['updated_at']}")
        if view["state"] in FINISHED:
            yield ServerSentEvent(json.dumps({"id": job_id, "state": view["state"]}), event="end")
            return
        if stopping():
            yield ServerSentEvent(json.dumps({"id": job_id, "detail": "the server is stopping"}), event="end")
            return
        await asyncio.sleep(POLL_SECONDS)
        view = await asyncio.to_thread(_view, jobs, job_id)
    yield ServerSentEvent(json.dumps({"id": job_id, "detail": "the job was removed"}), event="end")


def _view(jobs: Jobs, job_id: str) -> dict[str, Any] | None:
    found = jobs.find(job_id)
    entry = None if found is None else jobs.shared.ledger.get(found.media)
    return None if found is None or entry is None else describe(found, entry)
