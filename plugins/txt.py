"""Plain text: the transcript as paragraphs.

Without speakers, a new paragraph starts after a long pause. With speakers, each
turn (consecutive segments of one speaker) is one paragraph, opened by the time it
starts and who speaks: ``[00:01:02] Name: text``, the way a show's transcript reads.
"""

from __future__ import annotations

from itertools import groupby
from pathlib import Path

from ingest import Job, Segment, Transcript, hookimpl, outputs

FORMAT = "txt"
PARAGRAPH_PAUSE = 2.0  # seconds of silence that start a new paragraph


def render(transcript: Transcript) -> str:
    if any(seg.speaker for seg in transcript.segments):
        return _turns(transcript)
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


def _turns(transcript: Transcript) -> str:
    spoken = [seg for seg in transcript.segments if seg.text.strip()]
    paragraphs = [_paragraph(list(turn)) for _, turn in groupby(spoken, key=lambda s: s.speaker)]
    return "\n\n".join(paragraphs) + "\n"


def _paragraph(turn: list[Segment]) -> str:
    text = " ".join(seg.text.strip() for seg in turn)
    speaker = turn[0].speaker  # one line already: speakers.assign normalises every name
    return f"[{stamp(turn[0].start)}] {speaker}: {text}" if speaker else f"[{stamp(turn[0].start)}] {text}"


def stamp(seconds: float) -> str:
    """``HH:MM:SS``, rounded down: seeking there never skips the first word."""
    return outputs.clock(max(0, int(seconds)))[:8]


@hookimpl
def ingest_formats() -> list[str]:
    return [FORMAT]


@hookimpl
def ingest_write_outputs(job: Job, transcript: Transcript) -> list[Path]:
    return outputs.write_sidecar(job, transcript, FORMAT, lambda: render(transcript))
