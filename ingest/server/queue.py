"""Requests as jobs: in the daemon's own ledger, run by its own workers and loaded model.

A request's job is named by what it asks: the upload's content (its spool blob), the task,
the language and every option that changes the result. That name is a folder under the
state folder, ``server/jobs/<key>/``, holding the media (a hard link to the blob) and the
outputs the writer plugins make (``out/``): never beside anyone's media. The ledger keys
the job by that media path, so identical requests in flight share one row and one run,
and one that asks again after a disconnect finds the finished job, for
``[server] result_keep_seconds``, instead of a second run. Jobs of requests are claimed
ahead of watched files and backfills (``INTERACTIVE``); a running job is never pre-empted.

A request waits for its job by polling the ledger from a thread (``asyncio.to_thread``):
the event loop never blocks, and ``/status`` answers while a transcription runs.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import structlog

from ingest.daemon.worker import Shared
from ingest.ledger.fingerprint import fingerprint
from ingest.ledger.sqlite import Entry
from ingest.models import Task
from ingest.server import clips, spool
from ingest.server.errors import RequestError
from ingest.server.spool import Blob

log = structlog.get_logger(__name__)

INTERACTIVE = 10  # the ledger's priority of a request's job; watched files and backfills have 0
POLL_SECONDS = 0.2
Kind = Literal["transcribe", "detect"]
FINISHED = frozenset({"done", "skipped", "failed"})
SPOOL_GRACE_SECONDS = 300.0  # a blob no job links yet may be on its way into one
CREATED = "created"  # in a job's folder: the time it was first asked for


@dataclass(frozen=True)
class Request:
    """What a request asks of its job: everything here is part of the job's identity."""

    kind: Kind = "transcribe"
    task: Task = "transcribe"
    language: str | None = None  # None: detect
    initial_prompt: str | None = None
    diarize: bool = False
    min_speakers: int | None = None
    max_speakers: int | None = None

    def key(self, blob: Blob) -> str:
        """The job's name: the blob (content and kind of upload) and these options."""
        text = json.dumps({"blob": blob.path.name, **asdict(self)}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Ticket:
    """A request's job: its key, the media path the ledger knows it by, its output folder."""

    key: str
    media: Path
    outputs: Path


@dataclass(frozen=True)
class Outcome:
    """How a request's job ended, as the ledger holds it."""

    ticket: Ticket
    entry: Entry

    def output(self, suffix: str) -> Path | None:
        """The output file ending in ``suffix`` (``.srt``), if the job wrote one."""
        return next((p for p in self.entry.outputs if p.name.endswith(suffix)), None)


class JobQueue:
    """Submits requests as ledger jobs and waits for them; sweeps finished ones after a while."""

    def __init__(self, shared: Shared, formats: tuple[str, ...]) -> None:
        self.shared = shared
        self.formats = formats  # what every transcription job writes, whatever format was asked
        self.root = shared.settings.daemon.state_dir / "server"
        self.jobs = self.root / "jobs"
        self.spool = self.root / "spool"
        self._lock = threading.Lock()  # one request at a time lays out a job's folder

    def submit(self, blob: Blob, request: Request) -> Ticket:
        """Queue the job for ``request`` on ``blob``, or join the identical one (blocking: run in a thread)."""
        key = request.key(blob)
        folder = self.jobs / key
        suffix = ".wav" if request.kind == "detect" else blob.path.suffix
        ticket = Ticket(key, folder / f"media{suffix}", folder / "out")
        with self._lock:
            folder.mkdir(parents=True, exist_ok=True)
            created = folder / CREATED
            if not created.exists():  # when the job was first asked for: ``GET /jobs`` sorts by it
                created.write_text(repr(time.time()), encoding="utf-8")
            if not ticket.media.exists():
                _place(blob.path, ticket.media, clip=request.kind == "detect")
            options = self._options(ticket, request)
            state = self.shared.ledger.submit(ticket.media, fingerprint(ticket.media), INTERACTIVE, options)
        self.shared.wake.set()
        log.info("request_queued", job=key, kind=request.kind, task=request.task, state=state)
        return ticket

    def _options(self, ticket: Ticket, request: Request) -> str:
        values = {
            "language": request.language,
            "task": request.task,
            "initial_prompt": request.initial_prompt,
            "diarize": request.diarize,
            "min_speakers": request.min_speakers,
            "max_speakers": request.max_speakers,
            "formats": ["json"] if request.kind == "detect" else list(self.formats),
            "output_dir": str(ticket.outputs),
            "overwrite": True,  # the folder is the job's own; nothing of anyone else's is in it
        }
        return json.dumps(values, sort_keys=True)

    async def wait(self, ticket: Ticket, gone: Callable[[], Awaitable[bool]]) -> Outcome:
        """The job's outcome once it ended; ``RequestError`` when the client is ``gone()``
        (the job runs on: a retry finds it) or the server stops."""
        while True:
            entry = await asyncio.to_thread(self.shared.ledger.get, ticket.media)
            if entry is None:
                raise RequestError(503, "the job was removed before it ended; send the request again", retry=True)
            if entry.state in FINISHED:
                return Outcome(ticket, entry)
            if self.shared.stopping.is_set():
                raise RequestError(503, "the server is stopping; send the request again", retry=True)
            if await gone():
                log.info("request_client_gone", job=ticket.key, state=entry.state, note="the job runs on")
                raise RequestError(499, "client went away")
            await asyncio.sleep(POLL_SECONDS)

    def sweep(self) -> list[str]:
        """Forget jobs finished more than ``result_keep_seconds`` ago, their folders and
        the blobs no job uses any more (blocking: run in a thread). Returns the job keys."""
        keep = self.shared.settings.server.result_keep_seconds
        cutoff = time.time() - keep
        swept = []
        for folder in sorted(self.jobs.glob("*")) if self.jobs.is_dir() else ():
            with self._lock:
                if self._expired(folder, cutoff):
                    shutil.rmtree(folder, ignore_errors=True)
                    swept.append(folder.name)
        if swept:
            log.info("requests_swept", jobs=len(swept), kept_seconds=keep)
        spool.sweep(self.spool, older_than=SPOOL_GRACE_SECONDS)
        return swept

    def discard(self, key: str) -> bool:
        """Remove the job ``key`` unless it runs: its row leaves the queue (a worker never
        sees it again) and its folder goes. False, and nothing changed, while it runs."""
        folder = self.jobs / key
        with self._lock:
            media = next(iter(folder.glob("media*")), None)
            if media is not None and not self.shared.ledger.forget_unless_running(media):
                return False
            shutil.rmtree(folder, ignore_errors=True)
        log.info("request_discarded", job=key)
        return True

    def _expired(self, folder: Path, cutoff: float) -> bool:
        media = next(iter(folder.glob("media*")), None)
        entry = None if media is None else self.shared.ledger.get(media)
        if entry is None:  # a folder whose row is gone (or never came): once old, it is litter
            return folder.stat().st_mtime < cutoff
        if entry.state not in FINISHED or entry.updated_at >= cutoff:
            return False
        self.shared.ledger.forget(entry.path)
        return True


def _place(blob: Path, media: Path, clip: bool) -> None:
    """The job's media: the blob itself (a hard link, a copy across filesystems), or only
    its first seconds for a language detection (``clips``)."""
    if clip:
        clips.first_seconds(blob, media)
        return
    try:
        os.link(blob, media)
    except OSError:
        shutil.copyfile(blob, media)
