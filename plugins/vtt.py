"""WebVTT (``.vtt``) subtitles, with speakers as voice spans.

A cue with a speaker starts ``<v Name>``, the WebVTT voice span that the Podcasting
2.0 transcript guidance uses and Apple Podcasts reads as speaker names; browsers keep
the voice for styling and do not print it. Every such cue carries its voice, not only
the first of a turn, because a WebVTT voice belongs to one cue and a player may show
any cue alone. The closing ``</v>`` is left out: WebVTT lets a span end with its cue,
every span here does, and the Podcasting 2.0 examples are written that way.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ingest import Cue, Job, Transcript, hookimpl, outputs

FORMAT = "vtt"


def escape(text: str) -> str:
    """WebVTT cue text must not carry raw ``&``, ``<`` or ``-->``."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render(cues: Sequence[Cue], language: str) -> str:
    head = f"WEBVTT\nLanguage: {language}"  # a header line YouTube and players accept
    blocks = [f"{outputs.clock(c.start)} --> {outputs.clock(c.end)}\n" + _text(c) for c in cues]
    return "\n\n".join([head, *blocks]) + "\n"


def _text(cue: Cue) -> str:
    text = "\n".join(escape(ln) for ln in cue.lines)
    if not cue.speaker:
        return text
    return f"<v {escape(cue.speaker)}>{text}"  # one line: speakers.assign normalises every name


@hookimpl
def ingest_formats() -> list[str]:
    return [FORMAT]


@hookimpl
def ingest_write_outputs(job: Job, transcript: Transcript) -> list[Path]:
    return outputs.write_sidecar(job, transcript, FORMAT, lambda: render(transcript.cues, transcript.output_language))
