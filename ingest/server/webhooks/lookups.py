"""Asking Jellyfin or Plex which file a newly added item is: their webhooks name only an id.

Jellyfin: ``GET {url}/Items/{id}`` (``/Users/{user}/Items/{id}`` when a user is set, for
servers before 10.9) with the ``Authorization: MediaBrowser Token="..."`` header the
Jellyfin plugin sends; the answer's ``Path`` (or its ``MediaSources[].Path``). Plex:
``GET {url}/library/metadata/{ratingKey}`` with ``X-Plex-Token`` and ``Accept:
application/json``; every ``Part``'s ``file`` (several for a film with two versions),
read from JSON or, from a server that answers XML regardless, from XML.

The URL, timeout, retries and secret are the media-server plugins' (``[plugins.jellyfin]``,
``INGEST_JELLYFIN_API_KEY``; ``[plugins.plex]``, ``INGEST_PLEX_TOKEN``). Each request has a
timeout and the plugins' retries; a failure is a ``WebhookError`` naming the sender and
the item. The secret travels in a header only, never in a URL or a log line. These calls
block: the route runs them off the event loop.
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from typing import Any

import requests
import structlog

from ingest.notify import delivery, mediaserver
from ingest.server.webhooks.values import Lookup, WebhookError

log = structlog.get_logger(__name__)

SECRETS = {"jellyfin": "INGEST_JELLYFIN_API_KEY", "plex": "INGEST_PLEX_TOKEN"}
Headers = Callable[[str], dict[str, str]]  # the secret -> the request's headers


def item_paths(sender: str, items: Iterable[str], lookup: Lookup | None) -> tuple[str, ...]:
    """The files of ``items`` as the sender sees them (none for an item without a file)."""
    items = tuple(items)
    if not items:
        return ()
    if lookup is None:
        raise WebhookError(
            sender,
            f"item {items[0]} names no path and ingest cannot ask {sender}: set plugins.{sender}.url "
            f"and {SECRETS.get(sender, 'its secret')}",
            503,
        )
    find = _jellyfin if sender == "jellyfin" else _plex
    return tuple(path for item in items for path in find(lookup, item))


def jellyfin_headers(token: str) -> dict[str, str]:
    """The header every Jellyfin since 10.8 reads (the Jellyfin plugin's own form)."""
    return {"Authorization": f'MediaBrowser Token="{token}"', "Accept": "application/json"}


def plex_headers(token: str) -> dict[str, str]:
    return {"X-Plex-Token": token, "Accept": "application/json"}


def _jellyfin(lookup: Lookup, item: str) -> list[str]:
    endpoint = f"/Users/{lookup.user}/Items/{item}" if lookup.user else f"/Items/{item}"
    answer = _get("jellyfin", lookup, endpoint, item, jellyfin_headers)
    doc = _json("jellyfin", answer, item)
    path = doc.get("Path")
    if isinstance(path, str) and path:
        return [path]
    sources = doc.get("MediaSources")
    return [s["Path"] for s in sources or () if isinstance(s, dict) and isinstance(s.get("Path"), str)]


def _plex(lookup: Lookup, key: str) -> list[str]:
    answer = _get("plex", lookup, f"/library/metadata/{key}", key, plex_headers)
    if answer.content.lstrip().startswith(b"<"):
        return _plex_xml(answer.content, key)
    container = _json("plex", answer, key).get("MediaContainer")
    parts = [
        part
        for metadata in _dicts(container, "Metadata")
        for media in _dicts(metadata, "Media")
        for part in _dicts(media, "Part")
    ]
    return [part["file"] for part in parts if isinstance(part.get("file"), str) and part["file"]]


def _dicts(parent: Any, key: str) -> list[dict[str, Any]]:
    """The objects of ``parent[key]``, a JSON list (nothing when either is not what Plex sends)."""
    value = parent.get(key) if isinstance(parent, dict) else None
    return [entry for entry in value if isinstance(entry, dict)] if isinstance(value, list) else []


def _plex_xml(content: bytes, key: str) -> list[str]:
    try:
        root = ET.fromstring(content)  # noqa: S314 - the user's own server; expat >= 2.4 caps entity expansion
    except ET.ParseError as exc:
        raise WebhookError("plex", f"item {key}: the answer is neither JSON nor XML ({exc})", 502) from exc
    return [part.get("file", "") for part in root.iter("Part") if part.get("file")]


def _get(sender: str, lookup: Lookup, endpoint: str, item: str, headers: Headers) -> requests.Response:
    """One GET with the plugins' retries; a failure in words, naming the item."""
    start = time.monotonic()
    with delivery.session(lookup.retries, headers=headers(lookup.token.get_secret_value())) as http:
        try:
            answer = http.get(lookup.base + endpoint, timeout=lookup.timeout)
        except requests.RequestException as exc:
            status = 504 if mediaserver.unanswered(exc) or isinstance(exc, requests.Timeout) else 502
            cause = mediaserver.failure(exc, lookup.timeout)
            raise WebhookError(sender, f"item {item}: {cause} (GET {endpoint})", status) from exc
    seconds = mediaserver.since(start)
    log.info("webhook_item_lookup", sender=sender, item=item, status=answer.status_code, seconds=seconds)
    if not answer.ok:
        cause = f"HTTP {answer.status_code} from GET {endpoint}: {_hint(sender, answer)}"
        raise WebhookError(sender, f"item {item}: {cause}", 502)
    return answer


def _json(sender: str, answer: requests.Response, item: str) -> dict[str, Any]:
    try:
        doc = json.loads(answer.content)
    except ValueError as exc:
        raise WebhookError(sender, f"item {item}: the answer is not JSON ({exc})", 502) from exc
    if not isinstance(doc, dict):
        raise WebhookError(sender, f"item {item}: the answer is not a JSON object", 502)
    return doc


def _hint(sender: str, answer: requests.Response) -> str:
    if answer.status_code in (401, 403):
        return f"{sender} refused the secret: check {SECRETS[sender]}"
    if answer.status_code == 404:
        return f"no such item, or no such endpoint: check plugins.{sender}.url (and a reverse proxy's base path)"
    return f"{sender} answered with an error: see its log"
