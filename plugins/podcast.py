"""Podcasting 2.0 JSON transcripts (format ``podcast``), for ``<podcast:transcript>``.

``{"version": "1.0.0", "segments": [{"speaker", "startTime", "endTime", "body"}]}``,
times in seconds. The format takes segments of any size, from a word (the spec's
example, for word-by-word highlighting) to a paragraph. Here one segment is one
transcript segment: a phrase or sentence as the engine heard it, with its real speech
times and, after diarization, a single speaker. Subtitle cues would be the wrong unit:
they are cut for the screen and stretched for reading, while apps scroll and seek this
file as a running transcript. A segment a word would multiply the file's size; word
times are in ingest's own JSON for whoever needs them.
``speaker`` is left out where it is not known, as the format allows.

The file is ``<stem>.<lang>[.sdh][.forced].transcript.json``: the sidecar name of
every other output (``naming.sidecar``) with ``transcript.json`` as the extension,
so it never collides with ingest's own ``.json`` and the feed plugin can tell the two
apart by name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ingest import Job, Segment, Transcript, hookimpl, outputs

FORMAT = "podcast"
MIME_TYPE = "application/json"
VERSION = "1.0.0"


def document(transcript: Transcript) -> dict[str, Any]:
    return {"version": VERSION, "segments": [_segment(s) for s in transcript.segments if s.text.strip()]}


def render(transcript: Transcript) -> str:
    return json.dumps(document(transcript), ensure_ascii=False, indent=2) + "\n"


def target(job: Job, language: str) -> Path:
    """Where the transcript of ``job`` in ``language`` goes."""
    return outputs.target(job, language, FORMAT)  # named <stem>.<lang>.transcript.json (outputs.EXTENSIONS)


def _segment(seg: Segment) -> dict[str, Any]:
    speaker = {"speaker": seg.speaker} if seg.speaker else {}
    return {**speaker, "startTime": round(seg.start, 3), "endTime": round(seg.end, 3), "body": seg.text.strip()}


@hookimpl
def ingest_formats() -> list[str]:
    return [FORMAT]


@hookimpl
def ingest_write_outputs(job: Job, transcript: Transcript) -> list[Path]:
    if not outputs.wanted(job, FORMAT):
        return []
    path = target(job, transcript.output_language)
    return [outputs.write_text(job.path, path, render(transcript), overwrite=outputs.may_replace(job, path))]
