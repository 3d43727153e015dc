"""Each sender's webhook body, read as its own project defines it; no network, no filesystem.

- Sonarr and Radarr post JSON with a PascalCase ``eventType``. ``Download`` (an import)
  carries ``episodeFile.path`` / ``movieFile.path``; the import-complete variant has the
  same event type with ``episodeFiles[].path`` and no ``episodeFile``; ``Rename`` carries
  ``renamedEpisodeFiles[].path`` / ``renamedMovieFiles[].path``; ``Test`` names no file.
- Jellyfin's webhook plugin posts its template's output, as ``text/plain`` unless told
  otherwise: ``NotificationType`` ``ItemAdded`` with ``ItemId`` (and ``Path`` when the
  template includes it; else the path is looked up).
- Plex posts multipart with the JSON in the field ``payload`` (and a ``thumb`` image):
  ``event`` ``library.new`` with ``Metadata.ratingKey``; the path is looked up.
- Emby posts multipart (or a form, or JSON) with the JSON in ``data``: ``Event``
  ``library.new`` with ``Item.Path``; ``system.notificationtest`` is its test.
- Tautulli posts the JSON the user wrote: ``event`` (``added``) and ``file``.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from ingest.server.webhooks.values import SENDERS, Incoming, WebhookError

# Items that are one media file; series, seasons, albums and folders are announced too.
MEDIA_TYPES = frozenset({"movie", "episode", "video", "musicvideo", "audio", "audiobook", "track", "clip"})
TAUTULLI_ADDED = frozenset({"added", "created", "recently_added", "on_created"})
EMBY_TESTS = frozenset({"system.notificationtest", "system.webhooktest"})
_JELLYFIN_ID = re.compile(r"^[0-9A-Fa-f]{32}$|^[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}$")
_PLEX_KEY = re.compile(r"^[0-9]{1,12}$")
_WINDOWS = re.compile(r"^[A-Za-z]:|\\")
_AGENTS: tuple[tuple[str, str], ...] = (
    ("Jellyfin-Server", "jellyfin"),
    ("PlexMediaServer", "plex"),
    ("Sonarr", "sonarr"),
    ("Radarr", "radarr"),
    ("Tautulli", "tautulli"),
    ("Emby", "emby"),
)
_ONE_OF = "one of " + ", ".join(SENDERS)


@dataclass(frozen=True)
class Parsed:
    """One body read: paths as the sender sees them, or item ids to look up on its API."""

    sender: str
    event: str
    paths: tuple[str, ...] = ()
    items: tuple[str, ...] = ()
    test: bool = False
    ignored: str | None = None


def sniff(incoming: Incoming) -> str:
    """The sender of a request that came to no named route: its User-Agent, else the body's shape."""
    for token, sender in _AGENTS:
        if token.lower() in incoming.user_agent.lower():
            return sender
    if _multipart(incoming.content_type):
        return "plex" if "payload" in _form(incoming) else "emby"
    doc = _document("webhook", incoming, None)
    if "eventType" in doc:
        return "radarr" if "movie" in doc else "sonarr"
    keys = {key.lower() for key in doc}
    if "notificationtype" in keys:
        return "jellyfin"
    if "event" in keys and ("item" in keys or "Event" in doc):
        return "emby"
    if "file" in keys or "event" in keys:
        return "tautulli"
    raise WebhookError("webhook", f"cannot tell the sender: post to /webhooks/<sender> ({_ONE_OF})")


def parse(sender: str, incoming: Incoming) -> Parsed:
    """What ``sender``'s body announces; ``WebhookError`` (400) for a body it would not send."""
    if sender not in SENDERS:
        raise WebhookError(sender, f"unknown sender ({_ONE_OF})", 404)
    field = {"plex": "payload", "emby": "data"}.get(sender)
    doc = _document(sender, incoming, field)
    return _PARSERS[sender](sender, doc)


def _arr(sender: str, doc: dict[str, Any]) -> Parsed:
    event = _text(doc.get("eventType"))
    if not event:
        raise WebhookError(sender, "no eventType: not a Sonarr or Radarr webhook")
    if event == "Test":
        return Parsed(sender, event, test=True)
    if event not in ("Download", "Rename"):
        return Parsed(sender, event, ignored=f"{event} names no new file")
    keys: tuple[str, ...] = ("episodeFile", "movieFile", "episodeFiles", "movieFiles")
    if event == "Rename":
        keys = ("renamedEpisodeFiles", "renamedMovieFiles")
    paths = tuple(path for key in keys for path in _files(doc, key))
    if not paths:
        raise WebhookError(sender, f"a {event} event without a file path (" + ", ".join(keys) + ")")
    return Parsed(sender, event, paths)


def _files(doc: dict[str, Any], key: str) -> list[str]:
    """The absolute paths of ``doc[key]`` (one file or a list), from ``path`` or folder + ``relativePath``."""
    value = doc.get(key)
    files = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
    owner = doc.get("series") or doc.get("movie") or {}
    folder = _text(owner.get("path") or owner.get("folderPath")) if isinstance(owner, dict) else ""
    paths = []
    for file in files:
        path = _text(file.get("path")) if isinstance(file, dict) else ""
        relative = _text(file.get("relativePath")) if isinstance(file, dict) else ""
        if not path and folder and relative:
            separator = "\\" if _WINDOWS.search(folder) else "/"
            path = folder.rstrip("\\/") + separator + relative
        if path:
            paths.append(path)
    return paths


def _jellyfin(sender: str, doc: dict[str, Any]) -> Parsed:
    event = _text(_get(doc, "NotificationType"))
    if not event:
        raise WebhookError(sender, 'no NotificationType: the template needs "NotificationType": "{{NotificationType}}"')
    if event != "ItemAdded":
        return Parsed(sender, event, ignored=f"{event} names no new file")
    kind = _text(_get(doc, "ItemType"))
    if kind and kind.lower() not in MEDIA_TYPES:
        return Parsed(sender, event, ignored=f"a {kind} is not a media file")
    path = _text(_get(doc, "Path"))
    if path:
        return Parsed(sender, event, (path,))
    item = _text(_get(doc, "ItemId"))
    if not _JELLYFIN_ID.match(item):
        need = 'the template needs "ItemId": "{{ItemId}}"'
        raise WebhookError(sender, f"ItemAdded without a valid ItemId ({item!r}): {need}")
    return Parsed(sender, event, items=(item,))


def _plex(sender: str, doc: dict[str, Any]) -> Parsed:
    event = _text(doc.get("event"))
    if not event:
        raise WebhookError(sender, "no event in the payload: not a Plex webhook")
    if event != "library.new":
        return Parsed(sender, event, ignored=f"{event} names no new file")
    metadata = doc.get("Metadata")
    if not isinstance(metadata, dict):
        raise WebhookError(sender, "library.new without Metadata")
    kind = _text(metadata.get("type"))
    if kind and kind.lower() not in MEDIA_TYPES:
        return Parsed(sender, event, ignored=f"a {kind} is not a media file")
    key = _text(metadata.get("ratingKey"))
    if not _PLEX_KEY.match(key):
        raise WebhookError(sender, f"library.new without a valid Metadata.ratingKey ({key!r})")
    return Parsed(sender, event, items=(key,))


def _emby(sender: str, doc: dict[str, Any]) -> Parsed:
    event = _text(_get(doc, "Event"))
    if not event:
        raise WebhookError(sender, "no Event: not an Emby webhook")
    if event in EMBY_TESTS:
        return Parsed(sender, event, test=True)
    if event != "library.new":
        return Parsed(sender, event, ignored=f"{event} names no new file")
    item = _get(doc, "Item")
    if not isinstance(item, dict):
        raise WebhookError(sender, "library.new without an Item")
    kind = _text(_get(item, "Type"))
    if kind and kind.lower() not in MEDIA_TYPES:
        return Parsed(sender, event, ignored=f"a {kind} is not a media file")
    path = _text(_get(item, "Path"))
    if not path:
        raise WebhookError(sender, "library.new without Item.Path")
    return Parsed(sender, event, (path,))


def _tautulli(sender: str, doc: dict[str, Any]) -> Parsed:
    event = _text(_get(doc, "event") or _get(doc, "action"))
    path = _text(_get(doc, "file"))
    if event.lower() == "test":
        return Parsed(sender, event, test=True)
    if event and event.lower() not in TAUTULLI_ADDED:
        return Parsed(sender, event, ignored=f"{event} names no new file")
    if not path:  # a show or season added (Tautulli groups them) has no single file
        return Parsed(sender, event or "added", ignored='no file: the template needs "file": "{file}"')
    return Parsed(sender, event or "added", (path,))


_PARSERS = {"sonarr": _arr, "radarr": _arr, "jellyfin": _jellyfin, "plex": _plex, "emby": _emby, "tautulli": _tautulli}


def _document(sender: str, incoming: Incoming, field: str | None) -> dict[str, Any]:
    """The JSON object of the body, or of its form field ``field`` when the body is a form."""
    raw: bytes | str = incoming.body
    if field is not None and (_multipart(incoming.content_type) or _urlencoded(incoming.content_type)):
        form = _form(incoming)
        if field not in form:
            raise WebhookError(sender, f"no form field {field!r} (fields: {', '.join(form) or 'none'})")
        raw = form[field]
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookError(sender, f"the body is not JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise WebhookError(sender, f"the body is JSON but not an object (a {type(doc).__name__})")
    return doc


def _form(incoming: Incoming) -> dict[str, bytes]:
    """The fields of a multipart or urlencoded body (the first of each name)."""
    if _urlencoded(incoming.content_type):
        fields = parse_qs(incoming.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {name: values[0].encode() for name, values in fields.items()}
    head = b"Content-Type: " + incoming.content_type.encode("latin-1", "replace") + b"\r\n\r\n"
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + incoming.body)
    form: dict[str, bytes] = {}
    for part in message.iter_parts() if message.is_multipart() else ():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            form.setdefault(name, payload)
    return form


def _multipart(content_type: str) -> bool:
    return content_type.lower().startswith("multipart/")


def _urlencoded(content_type: str) -> bool:
    return content_type.lower().startswith("application/x-www-form-urlencoded")


def _get(doc: dict[str, Any], key: str) -> Any:
    """``doc[key]``, the key matched regardless of case (templates are written by hand)."""
    if key in doc:
        return doc[key]
    lowered = key.lower()
    return next((value for name, value in doc.items() if name.lower() == lowered), None)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else str(value) if isinstance(value, int) else ""
