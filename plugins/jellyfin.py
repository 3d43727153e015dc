"""Tell Jellyfin about new subtitles so they appear without a full library scan.

After a job ends ``done`` with outputs, the media file's path, as Jellyfin sees it
(through ``path_map``), is reported to ``POST /Library/Media/Updated`` as ``Modified``.
Jellyfin refreshes that one item after its library-monitor delay, and the refresh
picks up the new sidecar subtitles. ``refresh = "library"`` asks for a scan of every
library instead (``POST /Library/Refresh``): slower, for setups where the paths
Jellyfin sees cannot be mapped. Jellyfin answers that request only when the whole scan
has ended, so a scan request that reached the server is never sent again (a retry would
queue another full scan): no answer within ``timeout`` is logged as started, a connection
dropped after sending as a failure. Scans are at least ``library_interval`` seconds apart
(5 minutes by default): jobs finishing meanwhile share the next one (``Server.send_once``),
so a backfill of a thousand files asks for a scan every few minutes, not a thousand.

The API key comes only from ``INGEST_JELLYFIN_API_KEY``. It travels in the
``Authorization: MediaBrowser Token="..."`` header, the one form every Jellyfin since
10.8 reads whether or not its legacy authorization is enabled; it never appears in a
URL or a log line. The connection, its checks and its courier thread are
``ingest.mediaserver``'s, shared with the Plex plugin: each request has a timeout and
``retries`` retries for refused connections, timeouts and 429/5xx answers (a library
scan that reached the server excepted, as above).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Literal

import requests
import structlog
from pydantic import BaseModel, Field, SecretStr

from ingest import Job, JobResult, Server, ServerSettings, hookimpl, mediaserver, printable

if TYPE_CHECKING:
    from ingest import Settings

log = structlog.get_logger(__name__)

NAME = "jellyfin"
ENV_NAME = "INGEST_JELLYFIN_API_KEY"
SECRET = mediaserver.Secret(
    "api_key",
    "key",
    ENV_NAME,
    "create a key in Jellyfin (Dashboard > API Keys) and put it in the environment or the env file",
)


STARTED = "no answer yet: Jellyfin answers a library scan when it ends; the scan is probably running"


class JellyfinSettings(ServerSettings):
    """``[plugins.jellyfin]``: ``url`` is e.g. http://jellyfin.lan:8096. Without it the plugin does nothing."""

    refresh: Literal["item", "library"] = "item"
    # "library": at least this many seconds between two scan requests; jobs finishing meanwhile share the next.
    library_interval: float = Field(300.0, ge=0, le=86400)
    # Only so a key pasted into the TOML file is refused with a pointer to the env variable.
    api_key: SecretStr | None = Field(None, exclude=True, repr=False)


_server: Server | None = None


@hookimpl
def ingest_plugin_settings() -> tuple[str, type[BaseModel]]:
    return NAME, JellyfinSettings


@hookimpl
def ingest_startup(settings: Settings, plugin_config: dict[str, BaseModel]) -> None:
    global _server
    ingest_shutdown()
    config = plugin_config.get(NAME) or JellyfinSettings()
    assert isinstance(config, JellyfinSettings)
    library = config.refresh == "library"
    _server = mediaserver.connect(
        NAME, config, settings.jellyfin_api_key, SECRET, authorization, Server, retry_reads=not library
    )
    if _server is not None:
        log.info("jellyfin_ready", url=_server.base, refresh=config.refresh, path_map=len(config.path_map))


@hookimpl
def ingest_shutdown() -> None:
    global _server
    if _server is not None:
        running, _server = _server, None
        running.close()


@hookimpl
def ingest_job_finished(job: Job, result: JobResult) -> None:
    """Queue one refresh for a job that wrote something; never waits for the server."""
    server = _server
    if server is None or result.status != "done" or not result.outputs:
        return
    path, config = server.paths.apply(job.path), _config(server)
    whole = config.refresh == "library" or not printable(path)  # JSON cannot carry a name that is not UTF-8
    key, gap = ("library", config.library_interval) if whole else (path, 0.0)
    server.send_once(key, refresh, server, path, gap=gap)


def authorization(token: str) -> dict[str, str]:
    """The header every Jellyfin since 10.8 reads, legacy authorization on or off."""
    return {"Authorization": f'MediaBrowser Token="{token}"'}


def refresh(server: Server, path: str) -> None:
    """One refresh request (on the courier's thread); the outcome is logged, never raised."""
    library = _config(server).refresh == "library" or not printable(path)
    if library:
        call: dict[str, Any] = {"url": f"{server.base}/Library/Refresh"}
    else:
        updates = [{"Path": path, "UpdateType": "Modified"}]
        call = {"url": f"{server.base}/Library/Media/Updated", "json": {"Updates": updates}}
    start = time.monotonic()
    try:
        answer = server.http.post(**call, timeout=server.config.timeout)
    except requests.RequestException as exc:
        if library and mediaserver.unanswered(exc):  # the scan runs on; Jellyfin answers when it ends
            seconds = mediaserver.since(start)
            log.info("jellyfin_refresh_started", path=path, seconds=seconds, note=STARTED)
            return
        error = mediaserver.failure(exc, server.config.timeout)
        log.warning("jellyfin_refresh_failed", path=path, error=error, seconds=mediaserver.since(start))
        return
    seconds = mediaserver.since(start)
    if answer.ok:
        log.info("jellyfin_refreshed", path=path, status=answer.status_code, seconds=seconds)
    else:
        log.warning("jellyfin_refresh_failed", path=path, status=answer.status_code, hint=hint(answer), seconds=seconds)


def _config(server: Server) -> JellyfinSettings:
    assert isinstance(server.config, JellyfinSettings)
    return server.config


def hint(answer: requests.Response) -> str:
    """The likely fix for an HTTP error status."""
    if answer.status_code in (401, 403):
        return f"the server refused the key: check {ENV_NAME}"
    if answer.status_code == 404:
        return "no such endpoint: check plugins.jellyfin.url (and a reverse proxy's base path)"
    return "the server answered with an error: see its log"
