"""Tell Plex about new subtitles: a partial scan of the media's folder.

After a job ends ``done`` with outputs, the media's folder, as Plex sees it (through
``path_map``), is scanned with ``GET /library/sections/{id}/refresh?path=<folder>``:
Plex looks at that folder only and attaches the new sidecar subtitles. The library
section is the one whose ``<Location path>`` (from ``GET /library/sections``) holds the
folder, the longest such location when libraries nest; ``section`` pins one instead.
The section list is kept between jobs and fetched again once when no section matches
(a library added since). A scan of a folder already waiting for its scan is not asked
for twice (``Server.send_once``), so a backfill of one season asks once.

The token comes only from ``INGEST_PLEX_TOKEN`` and travels in the ``X-Plex-Token``
header, never in a URL or a log line. The connection, its checks and its courier
thread are ``ingest.mediaserver``'s, shared with the Jellyfin plugin: each request has
a timeout and ``retries`` retries for refused connections, timeouts and 429/5xx answers.
"""

from __future__ import annotations

import os
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import TYPE_CHECKING

import requests
import structlog
from pydantic import BaseModel, Field, SecretStr

from ingest import Job, JobResult, ServerSettings, hookimpl, mediaserver, pathmap

if TYPE_CHECKING:
    from ingest import Settings

log = structlog.get_logger(__name__)

NAME = "plex"
ENV_NAME = "INGEST_PLEX_TOKEN"
SECRET = mediaserver.Secret(
    "token",
    "token",
    ENV_NAME,
    'find your token as Plex\'s support article "Finding an authentication token / X-Plex-Token" shows, '
    "and put it in the environment or the env file",
)


class PlexSettings(ServerSettings):
    """``[plugins.plex]``: ``url`` is e.g. http://plex.lan:32400. Without it the plugin does nothing."""

    section: int | None = Field(None, ge=1)  # a library's id; unset: found from the folder
    # Only so a token pasted into the TOML file is refused with a pointer to the env variable.
    token: SecretStr | None = Field(None, exclude=True, repr=False)


class Unrefreshed(Exception):
    """The scan was not asked for: ``reason`` and ``hint`` say why and what to do."""

    def __init__(self, reason: str, hint: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason, self.hint, self.status = reason, hint, status


@dataclass
class _Server(mediaserver.Server):
    """The connection, plus the section list learned from the server."""

    sections: dict[str, list[str]] | None = None  # id -> location paths


_server: _Server | None = None


@hookimpl
def ingest_plugin_settings() -> tuple[str, type[BaseModel]]:
    return NAME, PlexSettings


@hookimpl
def ingest_startup(settings: Settings, plugin_config: dict[str, BaseModel]) -> None:
    global _server
    ingest_shutdown()
    config = plugin_config.get(NAME) or PlexSettings()
    assert isinstance(config, PlexSettings)
    _server = mediaserver.connect(NAME, config, settings.plex_token, SECRET, headers, _Server)
    if _server is not None:
        log.info("plex_ready", url=_server.base, section=config.section, path_map=len(config.path_map))


@hookimpl
def ingest_shutdown() -> None:
    global _server
    if _server is not None:
        running, _server = _server, None
        running.close()


@hookimpl
def ingest_job_finished(job: Job, result: JobResult) -> None:
    """Queue a scan of the media's folder unless one is already queued; never waits for Plex."""
    server = _server
    if server is None or result.status != "done" or not result.outputs:
        return
    folder = server.paths.apply(job.path.parent)
    server.send_once(folder, refresh, server, folder)


def headers(token: str) -> dict[str, str]:
    return {"X-Plex-Token": token, "Accept": "application/xml"}


def refresh(server: _Server, folder: str) -> None:
    """Find the section and ask for the scan (on the courier's thread); logged, never raised."""
    assert isinstance(server.config, PlexSettings)
    start = time.monotonic()
    try:
        section = str(server.config.section or find_section(server, folder))
        answer = server.http.get(
            f"{server.base}/library/sections/{section}/refresh",
            params={"path": os.fsencode(folder)},
            timeout=server.config.timeout,
        )
        check(answer)
    except (requests.RequestException, Unrefreshed) as exc:
        _failed(folder, exc, server.config.timeout, mediaserver.since(start))
        return
    seconds = mediaserver.since(start)
    log.info("plex_refreshed", path=folder, section=section, status=answer.status_code, seconds=seconds)


def find_section(server: _Server, folder: str) -> str:
    """The section holding ``folder``: from the kept list, else from a fresh one."""
    sections = server.sections
    fresh = sections is None
    if sections is None:
        sections = server.sections = fetch_sections(server)
    key = match(sections, folder)
    if key is None and not fresh:
        sections = server.sections = fetch_sections(server)
        key = match(sections, folder)
    if key is None:
        known = sorted(path for paths in sections.values() for path in paths)
        raise Unrefreshed(
            f"no library section holds {folder} (Plex knows: {', '.join(known) or 'none'})",
            "set plugins.plex.path_map to translate ingest's paths to Plex's, or plugins.plex.section",
        )
    return key


def fetch_sections(server: _Server) -> dict[str, list[str]]:
    """``GET /library/sections``: each library's id and folders."""
    answer = server.http.get(f"{server.base}/library/sections", timeout=server.config.timeout)
    check(answer)
    try:
        root = ET.fromstring(answer.content)  # noqa: S314 - the user's own server; expat >= 2.4 caps entity expansion
    except ET.ParseError as exc:
        raise Unrefreshed(f"/library/sections is not XML ({exc})", "check plugins.plex.url") from None
    return {
        directory.get("key", ""): [loc.get("path", "") for loc in directory.iter("Location")]
        for directory in root.iter("Directory")
    }


def match(sections: dict[str, list[str]], folder: str) -> str | None:
    """The section whose location holds ``folder``; the deepest location wins."""
    found = [
        (len(location), key)
        for key, locations in sections.items()
        for location in locations
        if location and pathmap.contains(location, folder)
    ]
    return max(found)[1] if found else None


def check(answer: requests.Response) -> None:
    """Raise ``Unrefreshed`` with the likely fix for an HTTP error status."""
    if answer.ok:
        return
    if answer.status_code in (401, 403):
        hint = f"Plex refused the token: check {ENV_NAME}"
    elif answer.status_code == 404:
        hint = "no such library section or endpoint: check plugins.plex.url and plugins.plex.section"
    else:
        hint = "Plex answered with an error: see its log"
    raise Unrefreshed(
        f"HTTP {answer.status_code} from {answer.request.path_url.split('?')[0]}", hint, answer.status_code
    )


def _failed(folder: str, exc: requests.RequestException | Unrefreshed, timeout: float, seconds: float) -> None:
    if isinstance(exc, Unrefreshed):
        log.warning(
            "plex_refresh_failed", path=folder, status=exc.status, error=exc.reason, hint=exc.hint, seconds=seconds
        )
        return
    log.warning("plex_refresh_failed", path=folder, error=mediaserver.failure(exc, timeout), seconds=seconds)
