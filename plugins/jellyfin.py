"""Tell Jellyfin about new subtitles so they appear without a full library scan.

After a job ends ``done`` with outputs, the media file's path, as Jellyfin sees it
(through ``path_map``), is reported to ``POST /Library/Media/Updated`` as ``Modified``.
Jellyfin refreshes that one item after its library-monitor delay, and the refresh
picks up the new sidecar subtitles. ``refresh = "library"`` asks for a scan of every
library instead (``POST /Library/Refresh``): slower, for setups where the paths
Jellyfin sees cannot be mapped.

The API key comes only from ``INGEST_JELLYFIN_API_KEY``. It travels in the
``Authorization: MediaBrowser Token="..."`` header, the one form every Jellyfin since
10.8 reads whether or not its legacy authorization is enabled; it never appears in a
URL or a log line. Requests run on a ``Courier`` thread, so a slow or dead server
never holds a worker; each has a timeout and ``retries`` retries for refused
connections, timeouts and 429/5xx answers.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import requests
import structlog
import urllib3
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr

from ingest import delivery
from ingest.errors import ConfigError
from ingest.models import Job, JobResult
from ingest.pathmap import PathMap, PathPairs
from ingest.plugins import hookimpl

if TYPE_CHECKING:
    from ingest.settings import Settings

log = structlog.get_logger(__name__)

NAME = "jellyfin"
ENV_NAME = "INGEST_JELLYFIN_API_KEY"


class JellyfinSettings(BaseModel):
    """``[plugins.jellyfin]``. Without ``url`` the plugin does nothing."""

    model_config = ConfigDict(extra="forbid")

    url: HttpUrl | None = None  # e.g. http://jellyfin.lan:8096, with a reverse proxy's base path if any
    timeout: float = Field(10.0, gt=0, le=300)  # seconds, per attempt
    retries: int = Field(2, ge=0, le=10)
    path_map: PathPairs = ()
    refresh: Literal["item", "library"] = "item"
    # Only so a key pasted into the TOML file is refused with a pointer to the env variable.
    api_key: SecretStr | None = Field(None, exclude=True, repr=False)


@dataclass(frozen=True)
class _Server:
    """What startup resolved: everything a delivery needs."""

    base: str
    config: JellyfinSettings
    paths: PathMap
    http: requests.Session
    courier: delivery.Courier
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, path: str) -> None:
        """Queue a refresh; the courier's thread starts with the first one.

        Not at startup: a later plugin's startup may still fail, and then no shutdown
        would come to join a thread started here.
        """
        with self.lock:
            self.courier.start()
        self.courier.send(refresh, self, path)


_server: _Server | None = None


@hookimpl
def ingest_plugin_settings() -> tuple[str, type[BaseModel]]:
    return NAME, JellyfinSettings


@hookimpl
def ingest_startup(settings: Settings, plugin_config: dict[str, BaseModel]) -> None:
    global _server
    config = plugin_config.get(NAME) or JellyfinSettings()
    assert isinstance(config, JellyfinSettings)
    if config.api_key is not None:
        raise ConfigError(f"plugins.jellyfin.api_key: remove it from the file; the key is read only from {ENV_NAME}")
    if config.url is None:
        return
    if settings.jellyfin_api_key is None:
        raise ConfigError(
            f"plugins.jellyfin.url is set but {ENV_NAME} is not: create a key in Jellyfin "
            "(Dashboard > API Keys) and put it in the environment or the env file"
        )
    token = settings.jellyfin_api_key.get_secret_value()
    http = delivery.session(config.retries, headers={"Authorization": f'MediaBrowser Token="{token}"'})
    _server = _Server(str(config.url).rstrip("/"), config, PathMap.of(config.path_map), http, delivery.Courier(NAME))
    log.info("jellyfin_ready", url=_server.base, refresh=config.refresh, path_map=len(config.path_map))


@hookimpl
def ingest_shutdown() -> None:
    global _server
    if _server is not None:
        _server.courier.close()
        _server.http.close()
        _server = None


@hookimpl
def ingest_job_finished(job: Job, result: JobResult) -> None:
    """Queue one refresh for a job that wrote something; never waits for the server."""
    if _server is None or result.status != "done" or not result.outputs:
        return
    _server.send(_server.paths.apply(job.path))


def refresh(server: _Server, path: str) -> None:
    """One refresh request (on the courier's thread); the outcome is logged, never raised."""
    if server.config.refresh == "library":
        call: dict[str, Any] = {"url": f"{server.base}/Library/Refresh"}
    else:
        updates = [{"Path": path, "UpdateType": "Modified"}]
        call = {"url": f"{server.base}/Library/Media/Updated", "json": {"Updates": updates}}
    start = time.monotonic()
    try:
        answer = server.http.post(**call, timeout=server.config.timeout)
    except requests.RequestException as exc:
        seconds = round(time.monotonic() - start, 3)
        log.warning("jellyfin_refresh_failed", path=path, error=failure(exc, server.config.timeout), seconds=seconds)
        return
    seconds = round(time.monotonic() - start, 3)
    if answer.ok:
        log.info("jellyfin_refreshed", path=path, status=answer.status_code, seconds=seconds)
    else:
        log.warning("jellyfin_refresh_failed", path=path, status=answer.status_code, hint=hint(answer), seconds=seconds)


def failure(exc: requests.RequestException, timeout: float) -> str:
    """What went wrong on the wire, in words (after retries requests wraps the cause)."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    refused = isinstance(reason, urllib3.exceptions.NewConnectionError)  # urllib3 files it under timeouts
    if not refused and (isinstance(exc, requests.Timeout) or isinstance(reason, urllib3.exceptions.TimeoutError)):
        return f"no answer within {timeout} s"
    if isinstance(exc, requests.ConnectionError):
        return f"cannot connect: {reason or exc}"
    return str(exc)


def hint(answer: requests.Response) -> str:
    """The likely fix for an HTTP error status."""
    if answer.status_code in (401, 403):
        return f"the server refused the key: check {ENV_NAME}"
    if answer.status_code == 404:
        return "no such endpoint: check plugins.jellyfin.url (and a reverse proxy's base path)"
    return "the server answered with an error: see its log"
