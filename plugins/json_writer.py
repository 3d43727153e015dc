"""JSON: everything we know about the transcript, for programs to read.

Speakers are on every segment, word and cue; a transcript with speakers also lists
them once, top level, in order of first appearance (``"speakers"``). Without speakers
that key is absent, so such documents stay as they were.

``"speech"`` lists the voice-activity regions decoding was limited to (``[[start, end],
...]`` in seconds; null when VAD was off) and ``"filtered"`` the words each hallucination
filter removed, by reason (``ingest.hallucination.REASONS``).

The document is described by a JSON Schema (draft 2020-12) shipped beside this module,
``transcript-<schema>.schema.json`` (``SCHEMA_FILE``): keys may be added within a schema
number, a change to an existing key raises it. The test suite validates real outputs
against it. Nothing in it depends on the run, only on the media and the settings: the same
file gives the same bytes every time (stage timings live in the job summary and the log).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ingest import Job, Segment, Transcript, __version__, hookimpl, outputs, shown, speakers

FORMAT = "json"
SCHEMA_VERSION = 2
SCHEMA_FILE = Path(__file__).with_name(f"transcript-{SCHEMA_VERSION}.schema.json")  # package data


def schema() -> dict[str, Any]:
    """The JSON Schema of the documents this writer makes."""
    loaded: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return loaded


def document(job: Job, transcript: Transcript) -> dict[str, Any]:
    names = speakers.order(transcript)
    return {
        "schema": SCHEMA_VERSION,
        "generator": f"ingest {__version__}",
        "media": shown(job.path.name),  # JSON holds text: a name that is not UTF-8 as \\xNN
        "language": transcript.output_language,
        "detected_language": transcript.language,
        "language_probability": round(transcript.language_probability, 4),
        "task": transcript.task,
        "engine": transcript.engine,
        "model": transcript.model,
        "duration": round(transcript.duration, 3),
        "speech": None if transcript.speech is None else [[round(s, 3), round(e, 3)] for s, e in transcript.speech],
        "filtered": dict(transcript.filtered),
        "text": transcript.text,
        **({"speakers": list(names)} if names else {}),
        "segments": [_segment(s) for s in transcript.segments],
        "cues": [
            {"start": round(c.start, 3), "end": round(c.end, 3), "lines": list(c.lines), "speaker": c.speaker}
            for c in transcript.cues
        ],
    }


def render(job: Job, transcript: Transcript) -> str:
    return json.dumps(document(job, transcript), ensure_ascii=False, indent=2) + "\n"


def _segment(seg: Segment) -> dict[str, Any]:
    return {
        "start": round(seg.start, 3),
        "end": round(seg.end, 3),
        "text": seg.text.strip(),
        "speaker": seg.speaker,
        "avg_logprob": round(seg.avg_logprob, 4),
        "no_speech_prob": round(seg.no_speech_prob, 4),
        "compression_ratio": round(seg.compression_ratio, 4),
        "words": [
            {
                "start": round(w.start, 3),
                "end": round(w.end, 3),
                "word": w.text.strip(),
                "probability": round(w.probability, 4),
                "speaker": w.speaker,
            }
            for w in seg.words
        ],
    }


@hookimpl
def ingest_formats() -> list[str]:
    return [FORMAT]


@hookimpl
def ingest_write_outputs(job: Job, transcript: Transcript) -> list[Path]:
    return outputs.write_sidecar(job, transcript, FORMAT, lambda: render(job, transcript))
