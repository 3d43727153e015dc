"""The start of an upload, for a language detection: only what it needs is decoded.

Clients of ``/detect-language`` upload the whole track (Bazarr sends a film's audio);
Whisper judges the language from speech in the first ``CLIP_SECONDS``. ffmpeg stops
reading after that much, and the clip (16 kHz mono WAV) is the job's media: the workers
decode, detect and transcribe those seconds only.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import structlog

from ingest.media.probe import ffmpeg_message
from ingest.server.errors import RequestError

log = structlog.get_logger(__name__)

CLIP_SECONDS = 30.0
TIMEOUT_SECONDS = 120.0


def first_seconds(source: Path, target: Path, seconds: float = CLIP_SECONDS) -> None:
    """Write the first ``seconds`` of ``source``'s audio to ``target`` (WAV), by way of a
    temporary name; a ``RequestError`` (400) when ffmpeg cannot read it."""
    part = target.with_name(f".{target.name}.part")
    command = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-t", f"{seconds:g}", "-i", str(source)]
    command += ["-vn", "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", "-f", "wav", str(part)]
    try:
        proc = subprocess.run(command, capture_output=True, timeout=TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        part.unlink(missing_ok=True)
        raise RequestError(400, f"could not decode the upload within {TIMEOUT_SECONDS:.0f} s", "file") from None
    if proc.returncode != 0:
        part.unlink(missing_ok=True)
        log.warning("clip_failed", source=str(source), error=ffmpeg_message(proc.stderr))
        raise RequestError(400, f"the upload is not audio ffmpeg can read: {ffmpeg_message(proc.stderr)}", "file")
    part.replace(target)
