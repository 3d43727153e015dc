"""SubRip (``.srt``) subtitles: numbered cues, ``HH:MM:SS,mmm`` times."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ingest import outputs
from ingest.models import Cue, Job, Transcript
from ingest.plugins import hookimpl

FORMAT = "srt"


def render(cues: Sequence[Cue]) -> str:
    blocks = [
        f"{n}\n{outputs.clock(c.start, ',')} --> {outputs.clock(c.end, ',')}\n" + "\n".join(c.lines)
        for n, c in enumerate(cues, start=1)
    ]
    return "\n\n".join(blocks) + "\n" if blocks else ""


@hookimpl
def ingest_formats() -> list[str]:
    return [FORMAT]


@hookimpl
def ingest_write_outputs(job: Job, transcript: Transcript) -> list[Path]:
    return outputs.write_sidecar(job, transcript, FORMAT, lambda: render(transcript.cues))
