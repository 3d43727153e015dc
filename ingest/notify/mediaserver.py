"""What the media-server plugins (Jellyfin, Plex) share: settings, the connection, failures in words.

Both plugins tell a server on the LAN that new subtitles exist, with a secret that
comes only from the environment, paths translated by ``path_map``, and requests on a
``Courier`` thread so that a slow or dead server never holds a worker. ``connect``
does startup's checks once for both and returns the ``Server`` their deliveries use;
each plugin keeps only its own endpoints and the hints for its own errors.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import requests
import structlog
import urllib3
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr

from ingest.errors import ConfigError
from ingest.notify import delivery
from ingest.notify.pathmap import PathMap, PathPairs

log = structlog.get_logger(__name__)


class ServerSettings(BaseModel):
    """The keys every ``[plugins.<server>]`` table has. Without ``url`` the plugin does nothing."""

    model_config = ConfigDict(extra="forbid")

    url: HttpUrl | None = None  # the server's address, with a reverse proxy's base path if any
    timeout: float = Field(10.0, gt=0, le=300)  # seconds, per attempt
    retries: int = Field(2, ge=0, le=10)
    path_map: PathPairs = ()


@dataclass(frozen=True)
class Secret:
    """Where a server's secret comes from, and how a user gets one (for startup's errors)."""

    key: str  # the settings key refused in the file, e.g. "api_key"
    noun: str  # what the user calls it: "key", "token"
    env: str  # the only place it is read from
    how: str  # the fix when it is missing: how to get one and where to put it


@dataclass
class Server:
    """What startup resolved: everything a delivery needs."""

    base: str
    config: ServerSettings
    paths: PathMap
    http: requests.Session
    courier: delivery.Courier
    lock: threading.Lock = field(default_factory=threading.Lock)
    queued: set[str] = field(default_factory=set)  # keys of deliveries waiting on the courier
    sent: dict[str, float] = field(default_factory=dict)  # key -> monotonic time of its last delivery
    closing: threading.Event = field(default_factory=threading.Event)

    def send_once(self, key: str, deliver: Callable[..., object], *args: Any, gap: float = 0.0) -> None:
        """Queue ``deliver(*args)`` on the courier's thread unless a delivery for ``key`` is
        waiting to be sent: that one serves this job too (jobs finishing while an earlier
        request is in flight share the next one). With ``gap``, a delivery for ``key`` waits
        until ``gap`` seconds after the previous one (less at shutdown), and every job that
        finishes meanwhile joins it. The courier's one thread does that waiting, so whatever
        else is queued on this server waits too: use a gap with one key per server (as
        Jellyfin's library mode does). Never waits for the server."""
        with self.lock:
            waiting = key in self.queued
            self.queued.add(key)
        if waiting:
            log.debug("delivery_joined", courier=self.courier.name, key=key)  # served by the one waiting
            return
        self.courier.send(self._deliver, key, gap, deliver, *args)

    def _deliver(self, key: str, gap: float, deliver: Callable[..., object], *args: Any) -> None:
        wait = self.sent.get(key, -gap) + gap - time.monotonic()
        if wait > 0:
            log.info("delivery_waiting", courier=self.courier.name, key=key, seconds=round(wait, 1))
            self.closing.wait(wait)  # shutdown sends it at once rather than leaving it unsent
        with self.lock:
            self.queued.discard(key)  # a job finishing from now on needs a delivery of its own
            if gap:  # only keys with a gap are remembered (item keys are one per file)
                self.sent[key] = time.monotonic()
        deliver(*args)

    def close(self) -> None:
        """Send what is queued (bounded: gaps are cut short), then close the connections."""
        self.closing.set()
        self.courier.close()
        self.http.close()


S = TypeVar("S", bound=Server)


def connect(
    name: str,
    config: ServerSettings,
    token: SecretStr | None,
    secret: Secret,
    headers: Callable[[str], dict[str, str]],
    kind: type[S],
    retry_reads: bool = True,
) -> S | None:
    """Startup's checks, then a started ``Server``; ``None`` without ``url``.

    The courier starts here: should a later plugin refuse to start, the host still
    calls every shutdown, which joins the thread.
    """
    if getattr(config, secret.key, None) is not None:
        raise ConfigError(
            f"plugins.{name}.{secret.key}: remove it from the file; the {secret.noun} is read only from {secret.env}"
        )
    if config.url is None:
        return None
    if token is None:
        raise ConfigError(f"plugins.{name}.url is set but {secret.env} is not: {secret.how}")
    http = delivery.session(config.retries, headers=headers(token.get_secret_value()), retry_reads=retry_reads)
    server = kind(str(config.url).rstrip("/"), config, PathMap.of(config.path_map), http, delivery.Courier(name))
    server.courier.start()
    return server


def failure(exc: requests.RequestException, timeout: float) -> str:
    """What went wrong on the wire, in words (after retries requests wraps the cause)."""
    reason = _reason(exc)
    refused = isinstance(reason, urllib3.exceptions.NewConnectionError)  # urllib3 files it under timeouts
    if not refused and (isinstance(exc, requests.Timeout) or isinstance(reason, urllib3.exceptions.TimeoutError)):
        return f"no answer within {timeout} s"
    if isinstance(reason, urllib3.exceptions.ProtocolError):  # sent, then the connection went
        return f"connection lost before the answer: {reason}"
    if isinstance(exc, requests.ConnectionError):
        return f"cannot connect: {reason or exc}"
    return str(exc)


def unanswered(exc: requests.RequestException) -> bool:
    """The request reached the server, which did not answer in time (not: could not connect)."""
    reason = _reason(exc)
    return isinstance(exc, requests.ReadTimeout) or isinstance(reason, urllib3.exceptions.ReadTimeoutError)


def _reason(exc: requests.RequestException) -> object:
    """urllib3's cause, which requests wraps after its retries (None for a bare exception)."""
    return getattr(exc.args[0], "reason", None) if exc.args else None


def since(start: float) -> float:
    """Seconds since ``start`` (a ``time.monotonic()``), as logged."""
    return round(time.monotonic() - start, 3)
