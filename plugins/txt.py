"""Plain text: the transcript as paragraphs, a new paragraph after a long pause."""

from __future__ import annotations

from pathlib import Path

from ingest import outputs
from ingest.models import Job, Transcript
from ingest.plugins import hookimpl

FORMAT = "txt"
PARAGRAPH_PAUSE = 2.0  # seconds of silence that start a new paragraph


def render(transcript: Transcript) -> str:
    paragraphs: list[list[str]] = []
    last_end = None
    for seg in transcript.segments:
        text = seg.text.strip()
        if not text:
            continue
        if last_end is None or seg.start - last_end >= PARAGRAPH_PAUSE:
            paragraphs.append([])
        paragraphs[-1].append(text)
        last_end = seg.end
    return "".join(" ".join(p) + "\n\n" for p in paragraphs).rstrip("\n") + "\n" if paragraphs else ""


@hookimpl
def ingest_formats() -> list[str]:
    return [FORMAT]


@hookimpl
def ingest_write_outputs(job: Job, transcript: Transcript) -> list[Path]:
    return outputs.write_sidecar(job, transcript, FORMAT, lambda: render(transcript))
