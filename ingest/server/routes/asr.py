"""whisper-asr-webservice's API, as Bazarr's Whisper provider and subgen's clients speak it.

``POST /asr``: the multipart part ``audio_file``, every option a query parameter;
``encode=false`` is raw s16le mono 16 kHz PCM (spooled as WAV). The body is
``text/plain; charset=utf-8`` in every format, with ``Asr-Engine`` and
``Content-Disposition: attachment; filename="<upload name>.<output>"``. SRT and WebVTT are
the files ingest's own writers made for the job. ``POST /detect-language`` decodes only
the first 30 s of what is sent (``ingest.server.clips``).

``video_file`` names the media as the client sees it: logged, never read.
"""

from __future__ import annotations

import asyncio
import re
from typing import Literal

import structlog
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from ingest.server import formats
from ingest.server.errors import RequestError
from ingest.server.queue import Outcome
from ingest.server.queue import Request as JobRequest
from ingest.server.routes import language_code, receive, run, service_of

log = structlog.get_logger(__name__)
router = APIRouter()
Output = Literal["txt", "vtt", "srt", "tsv", "json"]
FILE_FIELD = "audio_file"
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]")


@router.post("/asr")
async def asr(
    request: Request,
    task: Literal["transcribe", "translate"] = "transcribe",
    language: str | None = None,
    initial_prompt: str | None = None,
    encode: bool = True,
    output: Output = "txt",
    word_timestamps: bool = False,
    vad_filter: bool = False,  # ingest always listens for speech first ([speech] vad)
    diarize: bool = False,
    min_speakers: int | None = Query(None, ge=1),
    max_speakers: int | None = Query(None, ge=1),
    video_file: str | None = None,
) -> Response:
    """Transcribe (or translate) the upload; the body in the ``output`` format."""
    job = JobRequest(
        task=task,
        language=language_code(language),
        initial_prompt=initial_prompt or None,
        diarize=diarize,
        min_speakers=min_speakers if diarize else None,
        max_speakers=max_speakers if diarize else None,
    )
    upload = await receive(request, FILE_FIELD, pcm=not encode)
    log.info("asr_request", video_file=video_file, output=output, task=task, bytes=upload.blob.size)
    outcome = await run(request, upload.blob, job)
    body = await asyncio.to_thread(_body, outcome, output, word_timestamps)  # file reads off the loop
    name = _UNSAFE.sub("_", upload.filename or FILE_FIELD)
    headers = {
        "Asr-Engine": service_of(request).engine,
        "Content-Disposition": f'attachment; filename="{name}.{output}"',
    }
    return Response(body, media_type="text/plain; charset=utf-8", headers=headers)


def _body(outcome: Outcome, output: Output, word_timestamps: bool) -> str:
    if output in ("srt", "vtt"):
        return formats.subtitle(outcome, output)
    doc = formats.document(outcome)
    if output == "tsv":
        return formats.tsv(doc)
    if output == "json":
        return formats.asr_json(doc, word_timestamps)
    return formats.lines(doc)


@router.post("/detect-language")
async def detect_language(request: Request, encode: bool = True) -> JSONResponse:
    """The language spoken at the start of the upload, by Whisper's name and code."""
    upload = await receive(request, FILE_FIELD, pcm=not encode)
    outcome = await run(request, upload.blob, JobRequest(kind="detect"))
    doc = await asyncio.to_thread(formats.document, outcome)
    code = doc.get("detected_language")
    if code is None:
        raise RequestError(422, f"no speech found in the first seconds of the upload: {outcome.entry.reason}")
    name = await asyncio.to_thread(formats.language_name, code)  # Whisper's table: imported once, off the loop
    return JSONResponse({"detected_language": name, "language_code": code, "confidence": doc["language_probability"]})
