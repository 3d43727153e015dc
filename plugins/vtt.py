"""WebVTT (``.vtt``) subtitles."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ingest import outputs
from ingest.models import Cue, Job, Transcript
from ingest.plugins import hookimpl

FORMAT = "vtt"


def escape(text: str) -> str:
    """WebVTT cue text must not carry raw ``&``, ``<`` or ``-->``."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render(cues: Sequence[Cue], language: str) -> str:
    head = f"WEBVTT\nLanguage: {language}"  # a header line YouTube and players accept
    blocks = [
        f"{outputs.clock(c.start)} --> {outputs.clock(c.end)}\n" + "\n".join(escape(ln) for ln in c.lines) for c in cues
    ]
    return "\n\n".join([head, *blocks]) + "\n"


@hookimpl
def ingest_formats() -> list[str]:
    return [FORMAT]


@hookimpl
def ingest_write_outputs(job: Job, transcript: Transcript) -> list[Path]:
    return outputs.write_sidecar(job, transcript, FORMAT, lambda: render(transcript.cues, transcript.output_language))
