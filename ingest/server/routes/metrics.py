"""``GET /metrics``: Prometheus's text format, for the operator's scraper.

The app's ``Metrics`` (``ingest.server.metrics``) is made when the app starts (this
router's lifespan) and listens for finished jobs until it stops. A scrape reads the
ledger in a thread; a ledger that cannot be read is a 503, which Prometheus records as a
failed scrape rather than as zeros. Behind the same access rules as every other route.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator

import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from ingest.server.errors import RequestError
from ingest.server.metrics import Metrics

log = structlog.get_logger(__name__)


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    service = app.state.service
    metrics = Metrics(service.shared.ledger, service.version, service.engine)
    app.state.metrics = metrics
    with metrics.listening(service.shared.host):
        yield


router = APIRouter(lifespan=_lifespan)


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Jobs by state, queue depth, job durations and real-time factor, requests, version."""
    try:
        body = await asyncio.to_thread(request.app.state.metrics.render)
    except sqlite3.Error as exc:
        log.error("metrics_ledger_unreadable", error=str(exc))
        raise RequestError(503, f"the ledger cannot be read: {exc}", retry=True) from None
    return Response(body, media_type=CONTENT_TYPE_LATEST)
