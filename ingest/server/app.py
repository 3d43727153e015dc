"""The app factory: one FastAPI app over the daemon's ledger, workers and loaded model.

``create_app(service)`` mounts the routes of each API (``ingest.server.routes``), renders a
``RequestError`` the way each API's clients read errors, puts the access rules
(``ingest.server.auth``) in front, and sweeps finished requests' jobs while it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ingest import __version__
from ingest.daemon.worker import Shared
from ingest.errors import ConfigError
from ingest.plugins import check_choices
from ingest.server import auth
from ingest.server.errors import RequestError
from ingest.server.metrics import RequestCounter
from ingest.server.queue import JobQueue
from ingest.server.routes import asr, events, jobs, metrics, openai, status, transcribe, webhooks

log = structlog.get_logger(__name__)

# What every transcription request's job writes, whatever format it asked for: SRT and
# WebVTT are served as written, everything else is built from the JSON document.
JOB_FORMATS = ("srt", "vtt", "json")
SWEEP_SECONDS = 60.0


@dataclass(frozen=True)
class Service:
    """What the routes share: the daemon's workers' state, the queue of requests, limits."""

    shared: Shared
    queue: JobQueue
    version: str = __version__

    @classmethod
    def of(cls, shared: Shared) -> Service:
        """The service over a daemon's ``shared`` state; ``ConfigError`` when a writer it needs is off."""
        conf = shared.settings
        try:
            check_choices(shared.host, conf.transcribe.engine, JOB_FORMATS)
        except ConfigError as exc:
            raise ConfigError(f"the HTTP service needs the srt, vtt and json writers: {exc}") from None
        return cls(shared, JobQueue(shared, JOB_FORMATS))

    @property
    def engine(self) -> str:
        return self.shared.settings.transcribe.engine

    @property
    def upload_limit(self) -> int:
        return self.shared.settings.server.max_upload_mb * 2**20


def create_app(service: Service, sweep_seconds: float = SWEEP_SECONDS) -> FastAPI:
    """The ASGI app of the HTTP service."""

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        sweeper = asyncio.create_task(_sweep(service, sweep_seconds))
        try:
            yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper

    app = FastAPI(title="ingest", version=service.version, lifespan=lifespan)
    app.state.service = service
    for module in (status, asr, openai, transcribe, metrics, jobs, events, webhooks):
        app.include_router(module.router)
    app.add_exception_handler(RequestError, _refused)  # type: ignore[arg-type]
    server = service.shared.settings.server
    access = auth.Access.of(server.api_keys, server.trusted_networks, loopback_only=auth.is_loopback(server.host))
    access.check()
    app.add_middleware(auth.AuthMiddleware, access=access)
    app.add_middleware(RequestCounter)  # outside the access rules: refusals count too
    return app


async def _refused(request: Request, exc: RequestError) -> JSONResponse:
    """OpenAI's error shape under ``/v1/``, FastAPI's ``{"detail"}`` elsewhere; never a 2xx."""
    log.info("request_refused", path=request.url.path, status=exc.status, error=exc.message)
    body = exc.openai() if request.url.path.startswith("/v1/") else {"detail": exc.message}
    return JSONResponse(body, status_code=exc.status, headers=exc.headers())


async def _sweep(service: Service, every: float) -> None:
    """Forget finished requests' jobs once kept long enough; a failing sweep tries again later."""
    while True:
        try:
            await asyncio.to_thread(service.queue.sweep)
        except OSError as exc:
            log.error("requests_sweep_failed", error=str(exc))
        await asyncio.sleep(every)
