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

from ingest.models import Task
from ingest.server import formats
from ingest.server.errors import RequestError
from ingest.server.queue import Request as JobRequest
from ingest.server.routes import language_code, receive, run
from ingest.server.uploads import Upload

log = structlog.get_logger(__name__)
router = APIRouter()
FILE_FIELDS = ("file", "audio_file")  # the seeds' name, and whisper-asr-webservice's
TASKS: tuple[Task, ...] = ("transcribe", "translate")
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", ""})


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

    The parameters are read here too (``_Options``), as given or as form fields; they are
    named in the signature for the OpenAPI docs."""
    upload = await receive(request, FILE_FIELDS)
    try:
        options = _Options(request, upload)
        job, words = options.job(), options.flag("word_timestamps")
    except RequestError:
        upload.blob.path.unlink(missing_ok=True)  # refused: no job will link it
        raise
    log.info("transcribe_request", task=job.task, diarize=job.diarize, bytes=upload.blob.size)
    outcome = await run(request, upload.blob, job)
    doc = await asyncio.to_thread(formats.document, outcome)  # a file read: off the loop
    return JSONResponse(formats.transcription(doc, words))


class _Options:
    """The request's options, from its query or else its form, each checked and named."""

    def __init__(self, request: Request, upload: Upload) -> None:
        self.query, self.upload = request.query_params, upload

    def value(self, name: str) -> str | None:
        given = self.query.get(name)
        return given if given is not None else self.upload.first(name)

    def flag(self, name: str) -> bool:
        value = (self.value(name) or "").strip().lower()
        if value in _TRUE or value in _FALSE:
            return value in _TRUE
        raise RequestError(400, f"{name} {self.value(name)!r} is not true or false", name)

    def count(self, name: str) -> int | None:
        value = (self.value(name) or "").strip()
        if not value:
            return None
        if not value.isdigit() or int(value) < 1:
            raise RequestError(400, f"{name} {value!r} is not a whole number of at least 1", name)
        return int(value)

    def job(self) -> JobRequest:
        task = (self.value("task") or "transcribe").strip()
        if task not in TASKS:
            raise RequestError(400, f"task {task!r} is not transcribe or translate", "task")
        diarize = self.flag("diarize")
        least, most = self.count("min_speakers"), self.count("max_speakers")
        if least is not None and most is not None and least > most:
            raise RequestError(400, f"min_speakers {least} is more than max_speakers {most}", "min_speakers")
        return JobRequest(
            task="translate" if task == "translate" else "transcribe",
            language=language_code(self.value("language")),
            diarize=diarize,
            min_speakers=least if diarize else None,
            max_speakers=most if diarize else None,
        )
