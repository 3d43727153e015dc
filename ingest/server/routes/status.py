"""``GET /status`` (Bazarr's Test button reads the version) and ``GET /health``.

Both are open to every client (``ingest.server.auth``) and answer from memory or one
ledger read in a thread: they stay quick while a transcription runs.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from ingest.server.routes import service_of

router = APIRouter()


@router.get("/status")
async def status(request: Request) -> dict[str, Any]:
    """The version, as whisper-asr-webservice's clients read it."""
    service = service_of(request)
    return {"version": service.version, "engine": service.engine}


@router.get("/health")
async def health(request: Request) -> dict[str, Any]:
    """Alive, with the ledger's counts by state (the queue's depth is ``pending``)."""
    counts = await asyncio.to_thread(service_of(request).shared.ledger.counts)
    return {"status": "ok", "jobs": counts}
