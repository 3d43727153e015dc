"""``POST /transcribe``: the self-hosted Whisper services' own route, as their clients call it.

The multipart part ``file`` (or ``audio_file``); ``language``, ``task``, ``word_timestamps``, ``diarize``,
``min_speakers`` and ``max_speakers`` as query parameters or form fields (a query
parameter wins). The answer waits for the job and is JSON: ``text``, ``language`` (the
one spoken), ``duration``, ``segments`` (``id``, ``start``, ``end``, ``text``,
``speaker``: null when not diarized, ``words`` when asked) and ``speakers``. The job is
the one ``/asr`` and the OpenAI routes would make for the same upload and options: words
are always found, so asking for them or not shares one run.

Options are checked here, not by FastAPI, so every bad value is a 400 ``{"detail"}``
naming it, whichever way it was sent, and leaves nothing in the spool.
"""

from __future__ import annotations

import asyncio

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ingest.server import formats
from ingest.server.errors import RequestError
from ingest.server.routes import options, receive, run

log = structlog.get_logger(__name__)
router = APIRouter()
FILE_FIELDS = ("file", "audio_file")  # the seeds' name, and whisper-asr-webservice's
NAMES = ("task", "language", "diarize", "min_speakers", "max_speakers", "word_timestamps")


@router.post("/transcribe")
async def transcribe(
    request: Request,
    language: str | None = None,
    task: str | None = None,
    word_timestamps: str | None = None,
    diarize: str | None = None,
    min_speakers: str | None = None,
    max_speakers: str | None = None,
) -> JSONResponse:
    """Transcribe (or translate) the upload; segments with speakers and, when asked, words.

    The parameters are read here too (``options.read``), as given or as form fields; they are
    named in the signature for the OpenAPI docs."""
    upload = await receive(request, FILE_FIELDS)
    try:
        given = options.read(request.query_params, upload.fields, NAMES)
        job, words = given.request(), given.flag("word_timestamps")
    except RequestError:
        upload.blob.path.unlink(missing_ok=True)  # refused: no job will link it
        raise
    log.info("transcribe_request", task=job.task, diarize=job.diarize, bytes=upload.blob.size)
    outcome = await run(request, upload.blob, job)
    doc = await asyncio.to_thread(formats.document, outcome)  # a file read: off the loop
    return JSONResponse(formats.transcription(doc, words))
