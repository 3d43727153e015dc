"""Routes per API, and what each route of an upload does: spool it, check it is audio,
make it a job (or join the identical one), wait for the job without blocking the loop."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import Request

from ingest.errors import MediaError
from ingest.media import probe
from ingest.server import uploads
from ingest.server.errors import RequestError
from ingest.server.queue import Outcome
from ingest.server.queue import Request as JobRequest
from ingest.server.spool import Blob
from ingest.subtitles import languages


def service_of(request: Request) -> Any:
    """The ``Service`` the app was made for (``ingest.server.app``)."""
    return request.app.state.service


async def receive(request: Request, file_field: str | tuple[str, ...], pcm: bool = False) -> uploads.Upload:
    """The request's multipart body read to its end, the file spooled and checked to hold audio."""
    service = service_of(request)
    upload = await uploads.receive(request, file_field, service.queue.spool, service.upload_limit, pcm)
    param = file_field if isinstance(file_field, str) else file_field[0]
    await asyncio.to_thread(_check_audio, upload.blob, param)
    return upload


def _check_audio(blob: Blob, file_field: str) -> None:
    """ffprobe the blob now: an upload that is no audio is the client's 400, not a failed job."""
    try:
        media = probe.probe(blob.path)
    except MediaError as exc:
        cause = exc.cause.replace(str(blob.path), "upload")
    else:
        # ffprobe names a stream in a few bytes that merely look like a FLAC or MP3 header;
        # one with no channels is nothing a decoder can play
        if any(track.channels > 0 for track in media.audio_tracks):
            return
        cause = "no audio track with sound in it" if media.audio_tracks else "no audio track"
    blob.path.unlink(missing_ok=True)  # no job will link it: nothing left behind
    raise RequestError(400, f"the upload is not audio ingest can read: {cause}", file_field)


async def run(request: Request, blob: Blob, job: JobRequest) -> Outcome:
    """Queue ``job`` on ``blob`` (or join the identical one) and wait for it to end."""
    queue = service_of(request).queue
    ticket = await asyncio.to_thread(queue.submit, blob, job)
    outcome: Outcome = await queue.wait(ticket, request.is_disconnected)
    if outcome.entry.state == "failed":
        error = (outcome.entry.last_error or "failed").replace(str(ticket.media), "upload")
        raise RequestError(500, f"transcription failed: {error}")
    return outcome


def language_code(value: str | None, param: str = "language") -> str | None:
    """Whisper's code for a requested language (``en``, ``English``); None (detect) when not given."""
    if value is None or value.strip() in ("", "auto"):
        return None
    try:
        return languages.whisper_code(value)
    except ValueError as exc:
        raise RequestError(400, str(exc), param) from None
