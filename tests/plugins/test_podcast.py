"""The Podcasting 2.0 JSON writer, and the writers' hooks through a fresh plugin host."""

from __future__ import annotations

import json

import pytest
from ingest_plugins import podcast, srt

from ingest.errors import OutputExistsError
from ingest.models import Cue, Job, Segment, Transcript, Word
from ingest.settings import CueSettings, Settings
from ingest.testing import fresh_host, make_job


def transcript(*speakers: str | None) -> Transcript:
    segs = (
        Segment(0.0, 1.2345, " Welcome to the show.", (Word(0.0, 0.6, " Welcome"), Word(0.6, 1.2345, " show."))),
        Segment(1.5, 3.0, "  ", ()),  # nothing said: no segment
        Segment(3.25, 5.0, " Thanks for having me.", ()),
    )
    if speakers:
        segs = tuple(
            Segment(s.start, s.end, s.text, s.words, speaker=who) for s, who in zip(segs, speakers, strict=True)
        )
    return Transcript("en", 0.9, 5.0, segs, "e", "m", cues=(Cue(0.0, 1.5, ("Welcome to the show.",)),))


def test_document_follows_the_podcasting_2_0_format():
    assert podcast.render(transcript("Alice", None, "Bob")) == (
        "{\n"
        '  "version": "1.0.0",\n'
        '  "segments": [\n'
        "    {\n"
        '      "speaker": "Alice",\n'
        '      "startTime": 0.0,\n'
        '      "endTime": 1.234,\n'
        '      "body": "Welcome to the show."\n'
        "    },\n"
        "    {\n"
        '      "speaker": "Bob",\n'
        '      "startTime": 3.25,\n'
        '      "endTime": 5.0,\n'
        '      "body": "Thanks for having me."\n'
        "    }\n"
        "  ]\n"
        "}\n"
    )


def test_speaker_is_left_out_where_unknown():
    segments = podcast.document(transcript())["segments"]
    assert segments == [
        {"startTime": 0.0, "endTime": 1.234, "body": "Welcome to the show."},
        {"startTime": 3.25, "endTime": 5.0, "body": "Thanks for having me."},
    ]
    mixed = podcast.document(transcript(None, None, "Bob"))["segments"]
    assert [list(s) for s in mixed] == [["startTime", "endTime", "body"], ["speaker", "startTime", "endTime", "body"]]


def test_text_stays_unicode():
    t = Transcript("de", 1.0, 2.0, (Segment(0.0, 2.0, " Grüße, Zoë — 你好", (), speaker="Jürgen"),), "e", "m")
    text = podcast.render(t)
    assert '"body": "Grüße, Zoë — 你好"' in text
    assert json.loads(text)["segments"][0]["speaker"] == "Jürgen"


def test_written_beside_the_media_as_transcript_json(tmp_path):
    media = tmp_path / "ep42.mp3"
    fresh = fresh_host(podcast)
    assert fresh.formats() == {"podcast"}
    job = make_job(media, formats=("srt",))
    assert fresh.hook.ingest_write_outputs(job=job, transcript=transcript()) == [[]]
    job = make_job(media, formats=("podcast",))
    [[path]] = fresh.hook.ingest_write_outputs(job=job, transcript=transcript("Alice", None, "Bob"))
    assert path == tmp_path / "ep42.en.transcript.json"
    assert json.loads(path.read_text(encoding="utf-8"))["segments"][1]["speaker"] == "Bob"


def test_name_follows_the_naming_options(tmp_path):
    job = make_job(tmp_path / "ep42.mp3", output_dir=tmp_path / "out", language_codes="639-2/B", sdh=True)
    assert podcast.target(job, "de") == tmp_path / "out" / "ep42.ger.sdh.transcript.json"


def test_never_replaces_a_file_ingest_did_not_write(tmp_path):
    media, theirs = tmp_path / "ep42.mp3", tmp_path / "ep42.en.transcript.json"
    theirs.write_text("theirs", encoding="utf-8")
    job = make_job(media, formats=("podcast",))
    with pytest.raises(OutputExistsError):
        podcast.ingest_write_outputs(job, transcript())
    assert theirs.read_text(encoding="utf-8") == "theirs"
    for allowed in (
        Job(media, job.options, replaceable=frozenset({theirs})),
        make_job(media, formats=("podcast",), overwrite=True),
    ):
        theirs.write_text("theirs", encoding="utf-8")
        assert podcast.ingest_write_outputs(allowed, transcript()) == [theirs]
        assert json.loads(theirs.read_text(encoding="utf-8"))["version"] == "1.0.0"


def test_srt_hook_uses_the_configured_line_length(tmp_path, monkeypatch):
    monkeypatch.setattr(srt, "_limits", srt._limits)  # restored after the test
    fresh = fresh_host(srt)
    fresh.hook.ingest_startup(
        settings=Settings(cues=CueSettings(max_line_chars=32)), plugin_config={}, command="process"
    )
    cue = Cue(0.0, 5.0, ("A podcast SRT keeps lines to", "thirty-two characters."), "Alexandra")
    t = Transcript("en", 1.0, 5.0, (), "e", "m", cues=(cue,))
    [[path]] = fresh.hook.ingest_write_outputs(job=make_job(tmp_path / "ep42.mp3"), transcript=t)
    lines = path.read_text(encoding="utf-8").splitlines()[2:]
    assert lines[0].startswith("Alexandra: ")
    assert max(map(len, lines)) <= 32
