"""Running the HTTP service on uvicorn, on a thread of its own beside the daemon's.

``serving(daemon)`` is what ``ingest serve`` and ``ingest run`` (``[server] enabled``)
use: the app over the daemon's ledger and workers, listening until the block ends. The
thread is stoppable and joined; uvicorn installs no signal handlers off the main thread,
so SIGTERM and SIGHUP stay the daemon's. A port that cannot be bound stops the start
with a ``ConfigError`` naming it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import structlog
import uvicorn
from fastapi import FastAPI

from ingest.daemon.worker import Shared
from ingest.errors import ConfigError
from ingest.server.app import Service, create_app

log = structlog.get_logger(__name__)

START_TIMEOUT = 30.0
GRACEFUL_SECONDS = 5  # requests still waiting at stop are cut after this (their jobs are handed back by the daemon)


class ServerThread:
    """uvicorn serving ``app`` on ``host:port`` (port 0: any free one, see ``port``)."""

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,  # structlog's setup stays; uvicorn's own lines go through the root logger
            access_log=True,  # through the root logger (a /k/<key>/ prefix is cut off first: auth);
            # False would also stop uvicorn.access propagating, process-wide
            lifespan="on",
            timeout_graceful_shutdown=GRACEFUL_SECONDS,
        )
        self.server = uvicorn.Server(config)
        self.host = host
        self._thread = threading.Thread(target=self.server.run, name="ingest-http")

    def start(self) -> None:
        """Start listening; returns once the socket is bound, or raises ``ConfigError``."""
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise ConfigError(
                    f"server.listen = {self.host}:{self.server.config.port}: cannot listen there (in use, or not "
                    "an address of this machine); choose another with --listen or INGEST_SERVER__LISTEN"
                )
            time.sleep(0.02)
        log.info("server_listening", url=self.url)

    @property
    def port(self) -> int:
        """The port bound (the one chosen when asked for port 0)."""
        sockets = self.server.servers[0].sockets if self.server.servers else []
        return int(sockets[0].getsockname()[1]) if sockets else self.server.config.port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def stop(self) -> None:
        """Stop accepting, let requests in flight end (up to ``GRACEFUL_SECONDS``), join."""
        self.server.should_exit = True
        if self._thread.is_alive():
            self._thread.join()
        log.info("server_stopped")


@contextmanager
def serving(shared: Shared) -> Iterator[ServerThread]:
    """The HTTP service over the daemon's ``shared`` state, on ``[server] listen``, for the block."""
    conf = shared.settings.server
    app = create_app(Service.of(shared))
    thread = ServerThread(app, conf.host, conf.port)
    thread.start()
    try:
        yield thread
    finally:
        thread.stop()
