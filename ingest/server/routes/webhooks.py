"""``POST /webhooks/{sender}`` (Sonarr, Radarr, Jellyfin, Plex, Emby, Tautulli) and ``POST
/webhooks`` (the sender told by its body and User-Agent): each announced file becomes the
observation its watched folder would make.

``ingest.server.webhooks`` reads the request into paths inside a library (every library is a
``[[watches]]`` folder of this daemon). Each path then meets its watch's skip rules
(extensions, ignore globs, ``recursive``) and, once settled, the daemon's own ``observe``:
fingerprint, the ledger's de-duplication, the workers woken. The ledger decides, so a file
already queued or done is never run twice however often it is announced.

A file still being written (its mtime younger than the watch's ``settle_seconds``) is left
to the watch: it is inside a watched folder, so the daemon's watcher has seen its writes and
its settler observes it once it stands still. A webhook adds no second settle loop.

Answers: a test event 200 ``{"test": true}``; an event naming no new file, or only files the
watch leaves out, 200 with the reason; otherwise 202 ``{"queued", "already", "settling",
"skipped"}``. A ``WebhookError`` is its own status with ``{"detail"}``.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import State

from ingest.daemon import service as daemon
from ingest.daemon.mediafiles import WatchSpec, wanted
from ingest.daemon.worker import Shared
from ingest.errors import ConfigError, file_kind
from ingest.paths import shown
from ingest.server import webhooks
from ingest.server.errors import RequestError
from ingest.server.routes import service_of
from ingest.settings import Settings

log = structlog.get_logger(__name__)
router = APIRouter()


@dataclass
class Taken:
    """What became of each announced file (paths as people read them)."""

    queued: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)  # the ledger knows this content: queued, running or finished
    settling: list[str] = field(default_factory=list)  # still being written: the watch observes it once settled
    skipped: dict[str, str] = field(default_factory=dict)  # path -> why its watch leaves it out

    @property
    def accepted(self) -> bool:
        return bool(self.queued or self.already or self.settling)


@router.post("/webhooks/{sender}")
async def named(request: Request, sender: str) -> JSONResponse:
    """A webhook from ``sender`` (one of ``webhooks.SENDERS``)."""
    if sender.lower() not in webhooks.SENDERS:
        raise RequestError(404, f"no webhook for {sender!r}: use /webhooks/ and one of {', '.join(webhooks.SENDERS)}")
    return await _answer(request, sender.lower())


@router.post("/webhooks")
async def sniffed(request: Request) -> JSONResponse:
    """A webhook whose sender its body and User-Agent tell."""
    return await _answer(request, None)


async def _answer(request: Request, sender: str | None) -> JSONResponse:
    shared: Shared = service_of(request).shared
    try:
        found = await webhooks.receive(request, _sources(request.app.state, shared.settings), sender)
    except webhooks.WebhookError as exc:
        raise RequestError(exc.status, str(exc)) from None
    head = {"sender": found.sender, "event": found.event}
    if found.test:
        return JSONResponse({**head, "test": True})
    if found.ignored_reason is not None:
        return JSONResponse({**head, "ignored": found.ignored_reason})
    taken = await asyncio.to_thread(observe_all, shared, found.paths)
    counts = {name: len(entries) for name, entries in vars(taken).items()}
    log.info("webhook_observed", sender=found.sender, webhook_event=found.event, **counts)
    body = {**head, **vars(taken)}
    if not taken.accepted:
        return JSONResponse({**body, "ignored": "; ".join(f"{p}: {why}" for p, why in taken.skipped.items())})
    return JSONResponse(body, status_code=202)


def _sources(state: State, settings: Settings) -> webhooks.Sources:
    """The libraries, path maps and lookups: built once, and again only after a reload."""
    cached = getattr(state, "webhook_sources", None)
    if cached is not None and cached[0] is settings:
        return cached[1]
    server = settings.server
    try:
        built = webhooks.sources(settings, server.path_maps, server.jellyfin_user)
    except ConfigError as exc:
        raise RequestError(503, f"webhooks are not set up: {exc}") from None
    state.webhook_sources = (settings, built)
    return built


def observe_all(shared: Shared, paths: tuple[Path, ...]) -> Taken:
    """Every announced file through its watch's rules and into the ledger; a ``RequestError``
    (422) before any is observed when one does not exist (a sender's path map is wrong)."""
    missing = [shown(path) for path in paths if not os.path.lexists(path)]
    if missing:
        raise RequestError(422, f"no such file: {', '.join(missing)}; check the sender's path map (server.path_maps)")
    conf, taken = shared.settings, Taken()
    for path in paths:
        name = shown(path)
        found = daemon.watch_of(conf, path)  # None: the watches changed (a reload) since the library check
        spec, settle = (found[0], found[1].settle_seconds) if found else (None, 0.0)
        why = _left_out(path, spec)
        if why is not None:
            taken.skipped[name] = why
        elif _settling(path, settle):
            taken.settling.append(name)
        else:
            (taken.queued if _observe(shared, path, spec) else taken.already).append(name)
    return taken


def _left_out(path: Path, spec: WatchSpec | None) -> str | None:
    """Why the watch would not take ``path`` (its rules, or not a regular file); None when it would."""
    if spec is None:
        return "in no watched folder"
    if not wanted(spec, path):
        if path.suffix.lower() not in spec.extensions:
            return f"the watch does not pick up {path.suffix or 'files without an extension'}"
        return "the watch's ignore patterns (or recursive = false) leave it out"
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    return None if stat.S_ISREG(mode) else f"not a regular file ({file_kind(mode)})"


def _settling(path: Path, settle: float) -> bool:
    """Written to within the watch's settle time: the daemon's settler has it, not us."""
    try:
        return time.time() - path.stat().st_mtime < settle
    except OSError:
        return False  # gone since: the ledger's look says so


def _observe(shared: Shared, path: Path, spec: WatchSpec | None) -> bool:
    try:
        return daemon.observe(shared, path, spec)
    except sqlite3.Error as exc:
        log.error("ledger_write_failed", file=shown(path), error=str(exc))
        cause = f"the ledger cannot be written now ({exc}); send the webhook again"
        raise RequestError(503, cause, retry=True) from None
