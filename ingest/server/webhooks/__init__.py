"""Webhooks in: one request from Sonarr, Radarr, Jellyfin, Plex, Emby or Tautulli → the files it announces.

The route (``POST /webhooks/{sender}``) calls ``receive``; everything else is pure and typed:
``senders`` reads each sender's body, ``lookups`` asks Jellyfin or Plex which file an item
id is, and ``libraries`` maps each path from the sender's view to ingest's and holds it
inside a watched folder. The result is an ``Announcement``: the files to observe exactly as
a watched folder would (skip rules and de-duplication are the ledger's), or a test or an
ignored event (2xx, no job). Anything else is a ``WebhookError`` whose ``status`` the
route answers with.

Path maps are the media-server plugins' ``path_map`` (pairs of ingest's prefix and the
sender's), read backwards. Jellyfin and Plex use their plugin's map, URL, timeout, retries
and secret; Tautulli reports Plex's paths and so uses Plex's map unless given its own;
Sonarr, Radarr and Emby use the maps the server settings give ``sources``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import structlog
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from ingest.errors import ConfigError
from ingest.notify.mediaserver import ServerSettings
from ingest.notify.pathmap import PathMap
from ingest.paths import shown
from ingest.server.webhooks import lookups, senders
from ingest.server.webhooks.libraries import OutsideLibrary, inside_library, to_ingest
from ingest.server.webhooks.values import SENDERS, Announcement, Incoming, Lookup, Sources, WebhookError
from ingest.settings import Settings

__all__ = [
    "MAX_BODY",
    "SENDERS",
    "Announcement",
    "Incoming",
    "Lookup",
    "OutsideLibrary",
    "Sources",
    "WebhookError",
    "announce",
    "inside_library",
    "read",
    "receive",
    "sources",
    "to_ingest",
]

log = structlog.get_logger(__name__)

MAX_BODY = 1 << 20  # bytes; Plex's multipart with its thumbnail is the largest, tens of KB


def sources(
    settings: Settings,
    path_maps: Mapping[str, Iterable[tuple[str, str]]] | None = None,
    jellyfin_user: str | None = None,
) -> Sources:
    """The libraries (every ``[[watches]]`` folder), each sender's path map, and the lookups.

    ``path_maps`` (sender → ``(ingest's prefix, the sender's)`` pairs, as ``PathPairs``
    validates them) add to, or replace, the Jellyfin and Plex plugins' own maps.
    """
    libraries = tuple(watch.path.expanduser().resolve() for watch in settings.watches)
    maps = {sender: PathMap.of(pairs) for sender, pairs in (path_maps or {}).items()}
    found: dict[str, Lookup] = {}
    for name, token in (("jellyfin", settings.jellyfin_api_key), ("plex", settings.plex_token)):
        config = _plugin_server(settings, name)
        maps.setdefault(name, PathMap.of(config.path_map))
        if config.url is not None and token is not None:
            user = jellyfin_user if name == "jellyfin" else None
            found[name] = Lookup(str(config.url).rstrip("/"), token, config.timeout, config.retries, user)
    maps.setdefault("tautulli", maps["plex"])  # Tautulli reports the paths Plex sees
    return Sources(libraries, maps, found)


def _plugin_server(settings: Settings, name: str) -> ServerSettings:
    """The keys of ``[plugins.<name>]`` every media-server plugin has (url, timeout, retries, path_map)."""
    raw = settings.plugins.get(name) or {}
    shared = {key: value for key, value in raw.items() if key in ServerSettings.model_fields}
    try:
        return ServerSettings.model_validate(shared)
    except ValidationError as exc:
        raise ConfigError(f"plugins.{name}: {exc}") from exc


def announce(incoming: Incoming, where: Sources) -> Announcement:
    """What ``incoming`` announces, each path in ingest's view and inside a library.

    Blocks while Jellyfin or Plex is asked for a path: call it off the event loop (``receive`` does).
    """
    sender = (incoming.sender or "").lower() or senders.sniff(incoming)
    parsed = senders.parse(sender, incoming)
    if parsed.test or parsed.ignored:
        event, test, ignored = parsed.event, parsed.test, parsed.ignored
        log.info("webhook_received", sender=sender, webhook_event=event, test=test, ignored=ignored)
        return Announcement(sender, parsed.event, test=parsed.test, ignored_reason=parsed.ignored)
    theirs = parsed.paths + lookups.item_paths(sender, parsed.items, where.lookups.get(sender))
    if not theirs:
        reason = f"{sender} item {', '.join(parsed.items)} has no file"
        log.info("webhook_received", sender=sender, webhook_event=parsed.event, ignored=reason)
        return Announcement(sender, parsed.event, ignored_reason=reason)
    paths = tuple(dict.fromkeys(_ours(sender, path, where) for path in theirs))
    log.info("webhook_received", sender=sender, webhook_event=parsed.event, paths=[shown(p) for p in paths])
    return Announcement(sender, parsed.event, paths)


def _ours(sender: str, theirs: str, where: Sources) -> Path:
    mapped = to_ingest(where.path_maps.get(sender) or PathMap(), theirs)
    try:
        return inside_library(mapped, where.libraries)
    except OutsideLibrary as exc:
        named = f"{theirs} (mapped to {mapped})" if str(mapped) != theirs else theirs
        raise WebhookError(sender, f"{shown(named)}: {exc.cause}", exc.status) from exc


async def read(request: Request, sender: str | None = None, limit: int = MAX_BODY) -> Incoming:
    """The request's body (at most ``limit`` bytes, else a 413 ``WebhookError``) and the headers that matter."""
    name = sender or "webhook"
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise WebhookError(name, f"the body is {declared} bytes; a webhook is at most {limit}", 413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise WebhookError(name, f"the body is over {limit} bytes; a webhook is at most that", 413)
    headers = request.headers
    return Incoming(bytes(body), headers.get("content-type", ""), headers.get("user-agent", ""), sender)


async def receive(request: Request, where: Sources, sender: str | None = None) -> Announcement:
    """The route's one call: read the body, then ``announce`` on a worker thread (lookups block)."""
    incoming = await read(request, sender)
    return await run_in_threadpool(announce, incoming, where)
