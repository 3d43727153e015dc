"""ingest's own job API: submit without waiting, then list, read, fetch, retry or remove.

``POST /jobs`` takes a multipart upload (the part ``file``) or the path of a file inside a
library (a JSON body ``{"path": ...}``, a urlencoded form field or the query parameter
``path``), with the options ``task``, ``language``, ``initial_prompt``, ``diarize``,
``min_speakers`` and ``max_speakers`` as query parameters or fields (a query parameter
wins). It answers 202 with the job (``ingest.server.jobs.describe``) at once; the job
runs on the daemon's workers ahead of watched files and backfills.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any
from urllib.parse import parse_qsl

import structlog
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from ingest.ledger.queries import STATES
from ingest.server import formats
from ingest.server.errors import RequestError
from ingest.server.jobs import Jobs, available, describe
from ingest.server.queue import FINISHED
from ingest.server.routes import options, receive, service_of

log = structlog.get_logger(__name__)
router = APIRouter()
FILE_FIELD = "file"
BODY_LIMIT = 64 * 1024  # a path and a few options
MEDIA_TYPES = {"srt": "text/plain", "vtt": "text/vtt", "json": "application/json", "txt": "text/plain"}


def jobs_of(request: Request) -> Jobs:
    """The app's ``Jobs``, made once over its request queue."""
    state = request.app.state
    if not hasattr(state, "jobs"):
        state.jobs = Jobs(service_of(request).queue)
    jobs: Jobs = state.jobs
    return jobs


@router.post("/jobs", status_code=202)
async def submit(
    request: Request,
    path: str | None = None,
    task: str | None = None,
    language: str | None = None,
    initial_prompt: str | None = None,
    diarize: str | None = None,
    min_speakers: str | None = None,
    max_speakers: str | None = None,
) -> JSONResponse:
    """Queue an upload or a library file; the job at once (202), never its result.

    The parameters are read here too (``options.read``), from the query or the body; they are
    named in the signature for the OpenAPI docs."""
    jobs = jobs_of(request)
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        upload = await receive(request, FILE_FIELD)
        try:
            if request.query_params.get("path") or upload.first("path"):
                raise RequestError(400, "send either a file or a path, not both", "path")
            job = options.read(request.query_params, upload.fields).request()
        except RequestError:
            upload.blob.path.unlink(missing_ok=True)  # refused: no job will link it
            raise
        ticket = await asyncio.to_thread(jobs.queue.submit, upload.blob, job)
        job_id = ticket.key
    else:
        fields = await _fields(request)
        named = request.query_params.get("path") or fields.get("path")
        if not isinstance(named, str) or not named.strip():
            raise RequestError(400, "no file part 'file' and no 'path': send an upload or a library path", "path")
        given = options.read(request.query_params, fields).given
        found = await asyncio.to_thread(jobs.submit_path, named, json.dumps(given) if given else None)
        job_id = found.id
    view = await asyncio.to_thread(_view, jobs, job_id)
    return JSONResponse(view, status_code=202)


@router.get("/jobs")
async def listing(
    request: Request,
    state: Annotated[list[str] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Jobs newest first; ``state`` (repeated, or comma-separated) keeps those in it."""
    wanted = frozenset(s.strip() for value in state or [] for s in value.split(",") if s.strip())
    unknown = sorted(wanted - set(STATES))
    if unknown:
        raise RequestError(400, f"state {unknown[0]!r} is not one of {', '.join(STATES)}", "state")
    return {"jobs": await asyncio.to_thread(jobs_of(request).listing, wanted, limit)}


@router.get("/jobs/{job_id}")
async def one(request: Request, job_id: str) -> dict[str, Any]:
    """The job: state, progress, language, error, outputs."""
    return await asyncio.to_thread(_view, jobs_of(request), job_id)


@router.get("/jobs/{job_id}/outputs/{fmt}", response_class=Response)
async def output(request: Request, job_id: str, fmt: str) -> Response:
    """An output of a finished job, as its writer made it (txt built from the JSON)."""
    body = await asyncio.to_thread(_output, jobs_of(request), job_id, fmt)
    media_type = MEDIA_TYPES.get(fmt, "text/plain")
    return Response(body, media_type=f"{media_type}; charset=utf-8")


@router.post("/jobs/{job_id}/retry", status_code=202)
async def retry(request: Request, job_id: str) -> JSONResponse:
    """Queue a finished job afresh; 409 while it waits or runs."""
    jobs = jobs_of(request)
    await asyncio.to_thread(jobs.retry, job_id)
    return JSONResponse(await asyncio.to_thread(_view, jobs, job_id), status_code=202)


@router.delete("/jobs/{job_id}", status_code=204, response_class=Response)
async def delete(request: Request, job_id: str) -> Response:
    """Remove a job that is not running (a running one is never pre-empted: 409)."""
    await asyncio.to_thread(jobs_of(request).delete, job_id)
    return Response(status_code=204)


def _view(jobs: Jobs, job_id: str) -> dict[str, Any]:
    return describe(*jobs.get(job_id))


def _output(jobs: Jobs, job_id: str, fmt: str) -> str:
    found, entry = jobs.get(job_id)
    if entry.state not in FINISHED:
        raise RequestError(409, f"job {job_id} is {entry.state}: its outputs come once it is done")
    files = available(entry)
    if fmt not in files:
        have = ", ".join(sorted(files)) or "none"
        raise RequestError(404, f"job {job_id} ({entry.state}) has no {fmt!r} output (it has: {have})")
    if fmt == "txt" and files[fmt].suffix == ".json":
        return formats.lines(formats.document(found.outcome(entry)))
    return files[fmt].read_text(encoding="utf-8")


async def _fields(request: Request) -> dict[str, Any]:
    """A path job's body: a JSON object or a urlencoded form (or nothing: all in the query)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > BODY_LIMIT:
            raise RequestError(413, f"the body is over {BODY_LIMIT} bytes; a path job's body is a path and options")
    if not body.strip():
        return {}
    if kind == "application/x-www-form-urlencoded":
        return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    try:
        loaded = json.loads(body)
    except ValueError as exc:
        raise RequestError(400, f"the body is not JSON (nor multipart, nor a urlencoded form): {exc}") from None
    if not isinstance(loaded, dict):
        raise RequestError(400, 'the JSON body must be an object such as {"path": "/tv/Show/x.mkv"}')
    return loaded
