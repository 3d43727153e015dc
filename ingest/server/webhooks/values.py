"""The values a webhook passes through: the request as read, what it announces, and its failures."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from ingest.errors import IngestError
from ingest.notify.pathmap import PathMap

SENDERS = ("sonarr", "radarr", "jellyfin", "plex", "emby", "tautulli")


class WebhookError(IngestError):
    """A webhook that cannot be acted on: ``status`` is the HTTP answer the route gives.

    400 a body that is not what the sender sends, 404 an unknown sender, 413 a body too
    large, 403/422 a path outside every library, 502/503/504 a media server's lookup that
    failed, was not configured, or timed out.
    """

    def __init__(self, sender: str, cause: str, status: int = 400) -> None:
        super().__init__(f"{sender} webhook: {cause}")
        self.sender, self.cause, self.status = sender, cause, status


@dataclass(frozen=True)
class Incoming:
    """One webhook request as the route read it; ``sender`` from the route, or None to sniff."""

    body: bytes
    content_type: str = ""
    user_agent: str = ""
    sender: str | None = None


@dataclass(frozen=True)
class Announcement:
    """What one webhook announces: media files in ingest's view, each inside a library.

    ``test`` for a sender's test event, ``ignored_reason`` for an event that names no new
    file (both answered 2xx, no job). Otherwise ``paths`` holds at least one file.
    """

    sender: str
    event: str
    paths: tuple[Path, ...] = ()
    test: bool = False
    ignored_reason: str | None = None


@dataclass(frozen=True)
class Lookup:
    """Where to ask a media server (Jellyfin, Plex) which file an item is."""

    base: str  # the server's URL, with a reverse proxy's base path, no trailing slash
    token: SecretStr
    timeout: float = 10.0  # seconds, per attempt
    retries: int = 2
    user: str | None = None  # Jellyfin: ask /Users/{user}/Items/{id} (servers before 10.9)


@dataclass(frozen=True)
class Sources:
    """What the webhooks need from the settings: the libraries, each sender's path map, the lookups."""

    libraries: tuple[Path, ...] = ()
    path_maps: Mapping[str, PathMap] = field(default_factory=dict)
    lookups: Mapping[str, Lookup] = field(default_factory=dict)
