"""OpenAI's audio API, as every OpenAI SDK speaks it.

``POST /v1/audio/transcriptions`` and ``/v1/audio/translations``: multipart ``file`` and
``model`` (required; any name), ``language`` (transcriptions only), ``prompt``,
``response_format`` (json, text, srt, verbose_json, vtt, diarized_json), ``temperature``
and the repeated ``timestamp_granularities[]``. ``GET /v1/models``. Errors are OpenAI's
``{"error": {...}}`` with a real status, and ``x-should-retry: false`` where asking again
cannot help (the SDKs retry 5xx twice otherwise).

``temperature`` is accepted and checked; ingest decodes with its own ``[transcribe]
temperatures`` fallback, so the same upload gives the same text whoever asks.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from ingest.models import Task
from ingest.server import formats
from ingest.server.errors import RequestError
from ingest.server.queue import Outcome
from ingest.server.queue import Request as JobRequest
from ingest.server.routes import language_code, receive, run, service_of
from ingest.server.uploads import Upload

router = APIRouter(prefix="/v1")
RESPONSE_FORMATS = ("json", "text", "srt", "verbose_json", "vtt", "diarized_json")
GRANULARITIES = frozenset({"word", "segment"})
MODEL_ID = "whisper-1"  # what clients send; any name is accepted


@router.post("/audio/transcriptions")
async def transcriptions(request: Request) -> Response:
    """Speech to text in the language spoken (or the one given)."""
    return await _answer(request, "transcribe")


@router.post("/audio/translations")
async def translations(request: Request) -> Response:
    """Speech to English text."""
    return await _answer(request, "translate")


@router.get("/models")
async def models(request: Request) -> dict[str, Any]:
    """The model names this server answers to: OpenAI's own, and the one ingest runs."""
    names = dict.fromkeys([MODEL_ID, service_of(request).shared.settings.transcribe.model])
    data = [{"id": name, "object": "model", "created": 0, "owned_by": "ingest"} for name in names]
    return {"object": "list", "data": data}


async def _answer(request: Request, task: Task) -> Response:
    upload = await receive(request, "file")
    try:
        fmt, granularities, job = _parse(upload, task)
    except RequestError:
        upload.blob.path.unlink(missing_ok=True)  # refused: no job will link it
        raise
    outcome = await run(request, upload.blob, job)
    return await asyncio.to_thread(_render, outcome, fmt, granularities, task)


def _parse(upload: Upload, task: Task) -> tuple[str, frozenset[str], JobRequest]:
    """The form's fields, checked as OpenAI checks them; a ``RequestError`` naming the field."""
    if not (upload.first("model") or "").strip():
        raise RequestError(400, "you must provide a model parameter", "model")
    fmt = upload.first("response_format") or "json"
    if fmt not in RESPONSE_FORMATS:
        raise RequestError(
            400, f"response_format {fmt!r} is not one of {', '.join(RESPONSE_FORMATS)}", "response_format"
        )
    granularities = frozenset(upload.fields.get("timestamp_granularities[]", []))
    if granularities - GRANULARITIES:
        bad = sorted(granularities - GRANULARITIES)[0]
        raise RequestError(400, f"timestamp_granularities[] {bad!r} is not word or segment", "timestamp_granularities")
    _temperature(upload.first("temperature"))
    language = language_code(upload.first("language")) if task == "transcribe" else None
    job = JobRequest(task=task, language=language, initial_prompt=upload.first("prompt") or None)
    if fmt == "diarized_json":
        job = JobRequest(task=task, language=language, initial_prompt=job.initial_prompt, diarize=True)
    return fmt, granularities, job


def _temperature(value: str | None) -> None:
    if value is None or value == "":
        return
    try:
        number = float(value)
    except ValueError:
        raise RequestError(400, f"temperature {value!r} is not a number", "temperature") from None
    if not 0.0 <= number <= 1.0:
        raise RequestError(400, f"temperature {number} is not between 0 and 1", "temperature")


def _render(outcome: Outcome, fmt: str, granularities: frozenset[str], task: Task) -> Response:
    if fmt in ("srt", "vtt"):
        return PlainTextResponse(formats.subtitle(outcome, fmt))
    doc = formats.document(outcome)
    if fmt == "text":
        return PlainTextResponse(doc["text"] + "\n")
    if fmt == "verbose_json":
        words, segments = "word" in granularities, "segment" in granularities or not granularities
        return JSONResponse(formats.verbose(doc, task, words=words, segments=segments))
    if fmt == "diarized_json":
        return JSONResponse(formats.diarized(doc, task))
    return JSONResponse({"text": doc["text"]})
