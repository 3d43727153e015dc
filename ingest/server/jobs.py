"""ingest's own jobs, as ``/jobs`` shows them: request uploads, and files named in a library.

An upload's job is the request queue's (``ingest.server.queue``): its id is the queue's
key, its folder ``server/jobs/<key>/``, so an upload sent to ``/jobs`` and the same one
sent to ``/asr`` share one job. A path's job is the ledger's ordinary row for that media
file, observed exactly as the daemon observes a watched file (``daemon.service.observe`` with the
watch's key: its outputs beside the media, the skip rules at run time), then raised to
the requests' priority. Its id is a hash of the path; ``server/paths/<id>.json`` names
the path back and when it was first asked for.

Every call here blocks (ledger and file reads): the routes run them in a thread.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import structlog

from ingest.daemon.mediafiles import WatchSpec, wanted
from ingest.daemon.service import observe, specs, watch_of
from ingest.ledger.sqlite import Entry
from ingest.paths import shown
from ingest.server import formats
from ingest.server.errors import RequestError
from ingest.server.queue import CREATED, FINISHED, INTERACTIVE, JobQueue, Outcome, Ticket
from ingest.server.webhooks import OutsideLibrary, inside_library

log = structlog.get_logger(__name__)
Kind = Literal["upload", "path"]
_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")
_PATH_ID = re.compile(r"p[0-9a-f]{32}")
DERIVED = {"txt": ".json"}  # formats built from the JSON document when no writer made them


@dataclass(frozen=True)
class Found:
    """A job as ``/jobs`` knows it: its id, kind, the path its ledger row is keyed by."""

    id: str
    kind: Kind
    media: Path
    created_at: float

    def outcome(self, entry: Entry) -> Outcome:
        """The row as the response builders (``formats``) read a finished job."""
        return Outcome(Ticket(self.id, self.media, self.media.parent), entry)


def path_id(path: Path) -> str:
    """A path job's id: stable for the path, opaque, URL-safe."""
    return "p" + hashlib.sha256(os.fsencode(str(path))).hexdigest()[:32]


class Jobs:
    """Finds, lists, describes, submits, retries and removes the jobs of ``/jobs``."""

    def __init__(self, queue: JobQueue) -> None:
        self.queue, self.shared = queue, queue.shared
        self.paths = queue.root / "paths"

    # -- finding -----------------------------------------------------------------
    def find(self, job_id: str) -> Found | None:
        if _UPLOAD_ID.fullmatch(job_id):
            folder = self.queue.jobs / job_id
            media = next(iter(sorted(folder.glob("media*"))), None)
            return None if media is None else Found(job_id, "upload", media, _created(folder))
        if _PATH_ID.fullmatch(job_id):
            try:
                record = json.loads((self.paths / f"{job_id}.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return None
            return Found(job_id, "path", Path(record["path"]), float(record["created_at"]))
        return None

    def get(self, job_id: str) -> tuple[Found, Entry]:
        """The job and its row, or a 404 naming the id."""
        found = self.find(job_id)
        entry = None if found is None else self.shared.ledger.get(found.media)
        if found is None or entry is None:
            raise RequestError(404, f"no job {job_id!r}")
        return found, entry

    def listing(self, states: frozenset[str], limit: int) -> list[dict[str, Any]]:
        """Jobs newest first, those in ``states`` (every state when empty), at most ``limit``."""
        ids = [p.name for p in self._dirs(self.queue.jobs)] + [p.stem for p in self._files(self.paths)]
        found = sorted(filter(None, map(self.find, ids)), key=lambda f: f.created_at, reverse=True)
        views = []
        for job in found:
            entry = self.shared.ledger.get(job.media)
            if entry is not None and (not states or entry.state in states):
                views.append(describe(job, entry))
                if len(views) >= limit:
                    break
        return views

    @staticmethod
    def _dirs(folder: Path) -> list[Path]:
        return [p for p in folder.iterdir() if p.is_dir()] if folder.is_dir() else []

    @staticmethod
    def _files(folder: Path) -> list[Path]:
        return list(folder.glob("*.json")) if folder.is_dir() else []

    # -- changing ----------------------------------------------------------------
    def submit_path(self, named: str, options: str | None) -> Found:
        """The job of the library file ``named``: observed as the watch would, then put ahead
        of the watched files and backfills with the request's ``options`` (JSON, or None)."""
        path, spec = self._library_file(named)
        ledger = self.shared.ledger
        # as the settle loop and the webhooks do; the workers are woken once it is ahead
        observe(self.shared, path, spec, wake=False)
        entry = ledger.get(path)
        if entry is None:
            raise RequestError(422, f"{shown(path)}: gone before it could be queued")
        if entry.state == "failed":  # asked for by name: a failed file gets a fresh try, as an upload does
            ledger.retry(path)
        ledger.prioritize(path, INTERACTIVE, options)
        self.shared.wake.set()
        found = self._record(path)
        log.info("path_job_queued", job=found.id, file=shown(path), state=entry.state)
        return found

    def _library_file(self, named: str) -> tuple[Path, WatchSpec]:
        watches = specs(self.shared.settings)
        try:
            path = inside_library(named, [spec.path for spec in watches])
        except OutsideLibrary as exc:
            raise RequestError(exc.status, str(exc), "path") from None
        found = watch_of(self.shared.settings, path)
        if found is None:  # inside a library a moment ago: the watches changed (a reload)
            raise RequestError(422, f"{shown(path)}: in no watched folder", "path")
        spec = found[0]
        if not path.is_file():
            raise RequestError(422, f"{shown(path)}: no such file", "path")
        if not wanted(spec, path):
            cause = "its extension or an ignore glob of the watch rules it out"
            raise RequestError(
                422, f"{shown(path)}: not media the library {shown(spec.path)} picks up: {cause}", "path"
            )
        return path, spec

    def _record(self, path: Path) -> Found:
        job_id = path_id(path)
        found = self.find(job_id)
        if found is not None and found.media == path:
            return found
        self.paths.mkdir(parents=True, exist_ok=True)
        record = self.paths / f"{job_id}.json"
        temp = record.with_suffix(".tmp")
        temp.write_text(json.dumps({"path": str(path), "created_at": time.time()}), encoding="utf-8")
        temp.replace(record)
        return Found(job_id, "path", path, time.time())

    def retry(self, job_id: str) -> Found:
        """Queue a finished job afresh (at the requests' priority); 409 while it waits or runs."""
        found, entry = self.get(job_id)
        if entry.state not in FINISHED or not self.shared.ledger.retry(found.media):
            raise RequestError(409, f"job {job_id} is {entry.state}: only a finished job can be retried")
        self.shared.ledger.prioritize(found.media, INTERACTIVE)
        self.shared.wake.set()
        log.info("job_retried", job=job_id, kind=found.kind, was=entry.state)
        return found

    def delete(self, job_id: str) -> None:
        """Remove a job that is not running (never pre-empted: 409). A pending one leaves the
        queue; an upload's folder goes. A finished path job keeps its row, so the daemon does
        not run that file again: only the job is gone from ``/jobs``."""
        found, entry = self.get(job_id)
        refused = RequestError(409, f"job {job_id} is running: it cannot be stopped, only removed once it ends")
        if entry.state == "running":
            raise refused
        if found.kind == "upload":
            if not self.queue.discard(job_id):
                raise refused
            return
        if entry.state == "pending" and not self.shared.ledger.forget_unless_running(found.media):
            raise refused
        (self.paths / f"{job_id}.json").unlink(missing_ok=True)
        log.info("path_job_removed", job=job_id, was=entry.state)


def describe(found: Found, entry: Entry) -> dict[str, Any]:
    """The job JSON ``/jobs`` answers with (its keys are what ``ingest.client`` reads)."""
    error = entry.last_error
    if error is not None and found.kind == "upload":
        error = error.replace(str(found.media), "upload")
    return {
        "id": found.id,
        "kind": found.kind,
        "state": entry.state,
        "progress": 1.0 if entry.state == "done" else min(max(entry.progress, 0.0), 1.0),
        "language": _language(found, entry),
        "error": error,
        "reason": entry.reason,
        "created_at": found.created_at,
        "updated_at": entry.updated_at,
        "media": str(found.media) if found.kind == "path" else None,
        "outputs": {fmt: f"/jobs/{found.id}/outputs/{fmt}" for fmt in available(entry)},
    }


def available(entry: Entry) -> dict[str, Path]:
    """The formats a finished job can be fetched in, each with the file it comes from."""
    if entry.state != "done":
        return {}
    files = {p.suffix.lstrip(".").lower(): p for p in entry.outputs if p.suffix and p.is_file()}
    for fmt, source in DERIVED.items():
        if fmt not in files and source.lstrip(".") in files:
            files[fmt] = files[source.lstrip(".")]
    return files


def _language(found: Found, entry: Entry) -> str | None:
    """The language spoken (from the JSON document), else the one asked for."""
    doc = available(entry).get("json")
    if doc is not None:
        try:
            loaded = formats.document(found.outcome(entry))
        except (OSError, ValueError):
            loaded = {}
        spoken = loaded.get("detected_language") or loaded.get("language")
        if spoken:
            return str(spoken)
    asked = json.loads(entry.options).get("language") if entry.options else None
    return str(asked) if asked else None


def _created(folder: Path) -> float:
    try:
        return float((folder / CREATED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        try:
            return folder.stat().st_mtime
        except OSError:
            return 0.0
