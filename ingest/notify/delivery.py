"""Telling the outside world, without making a job wait for it.

A ``Courier`` owns one background thread that runs deliveries (a notification, a
media-server refresh, a webhook POST) in the order they were sent. A delivery that
raises is logged with the courier's name and dropped: nothing a remote server does
can fail a job or stop the daemon. ``close`` lets queued deliveries finish for a
bounded time and joins the thread.

``session`` is a requests session whose retries and backoff are urllib3's ``Retry``;
every call through it still needs its own ``timeout=``.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

import requests
import structlog
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

log = structlog.get_logger(__name__)
RETRY_STATUSES = (429, 500, 502, 503, 504)
_STOP = object()


class Courier:
    """Deliveries run one at a time, in order, on a thread of their own."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=f"ingest-{self.name}")
            self._thread.start()

    def send(self, deliver: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        """Queue ``deliver(*args, **kwargs)``; runs inline when the courier was never started."""
        if self._thread is None:
            self._run(deliver, args, kwargs)
        else:
            self._queue.put((deliver, args, kwargs))

    def close(self, timeout: float = 30.0) -> None:
        """Finish what is queued (up to ``timeout`` seconds), then stop the thread."""
        if self._thread is None:
            return
        self._queue.put(_STOP)
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("delivery_abandoned", courier=self.name, pending=self._queue.qsize())
        self._thread = None

    def _loop(self) -> None:
        while (item := self._queue.get()) is not _STOP:
            self._run(*item)

    def _run(self, deliver: Callable[..., object], args: tuple, kwargs: dict) -> None:
        try:
            deliver(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - a remote failure never reaches a job
            log.warning("delivery_failed", courier=self.name, error=str(exc))


def session(
    retries: int = 2, backoff: float = 0.5, headers: dict[str, str] | None = None, retry_reads: bool = True
) -> requests.Session:
    """A session retrying connection errors and 429/5xx answers ``retries`` times, with backoff;
    without ``retry_reads``, a request that reached the server is not sent again, whether no
    answer came in time or the connection dropped before it (urllib3's read errors)."""
    retry = Retry(
        total=retries,
        read=None if retry_reads else 0,
        backoff_factor=backoff,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=None,  # POSTs here are idempotent notifications and refreshes
        raise_on_status=False,
    )
    http = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    http.headers.update(headers or {})
    return http
