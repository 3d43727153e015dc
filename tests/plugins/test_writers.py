"""The writer plugins' formats, on hand-made cues and a transcript."""

from __future__ import annotations

import json
from pathlib import Path

from ingest_plugins import json_writer, srt, txt, vtt

from ingest.models import Cue, Job, JobOptions, Segment, Transcript, Word

CUES = (
    Cue(0.0, 1.5, ("Hello <world> & you",)),
    Cue(1.5, 4.25, ("A second cue that runs", "over two lines.")),
    Cue(3661.2, 3662.0, ("Late.",)),
)


def transcript(**kw) -> Transcript:
    words = (Word(0.0, 0.5, " Hello", 0.9), Word(0.6, 1.2, " there.", 0.8))
    segs = (
        Segment(0.0, 1.2, " Hello there.", words),
        Segment(1.4, 2.0, " Still talking.", ()),
        Segment(5.0, 6.0, " After a pause.", ()),
    )
    base = dict(language="de", language_probability=0.87654, duration=6.0, segments=segs, engine="e", model="m")
    return Transcript(**{**base, **kw}, cues=CUES[:2], timings={"probe": 0.01234})


def test_srt():
    assert srt.render(CUES) == (
        "1\n00:00:00,000 --> 00:00:01,500\nHello <world> & you\n\n"
        "2\n00:00:01,500 --> 00:00:04,250\nA second cue that runs\nover two lines.\n\n"
        "3\n01:01:01,200 --> 01:01:02,000\nLate.\n"
    )
    assert srt.render(()) == ""


def test_vtt_header_times_and_escaping():
    text = vtt.render(CUES, "en")
    assert text.startswith("WEBVTT\nLanguage: en\n\n00:00:00.000 --> 00:00:01.500\nHello &lt;world&gt; &amp; you\n")
    assert "01:01:01.200 --> 01:01:02.000\nLate.\n" in text


def test_txt_paragraphs_after_long_pauses():
    assert txt.render(transcript()) == "Hello there. Still talking.\n\nAfter a pause.\n"


def test_json_document():
    job = Job(Path("/m/Show S01E01.mkv"), JobOptions())
    doc = json.loads(json_writer.render(job, transcript(task="translate")))
    assert doc["media"] == "Show S01E01.mkv"
    assert (doc["language"], doc["detected_language"], doc["language_probability"]) == ("en", "de", 0.8765)
    assert (doc["engine"], doc["model"], doc["task"], doc["timings"]) == ("e", "m", "translate", {"probe": 0.012})
    assert doc["segments"][0]["words"][1] == {
        "start": 0.6,
        "end": 1.2,
        "word": "there.",
        "probability": 0.8,
        "speaker": None,
    }
    assert doc["cues"][1]["lines"] == ["A second cue that runs", "over two lines."]
    assert doc["text"] == "Hello there. Still talking. After a pause."
