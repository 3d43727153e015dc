"""The writer plugins' formats, on hand-made cues and transcripts, with and without speakers."""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import replace
from pathlib import Path

import jsonschema
from ingest_plugins import json_writer, podcast, srt, txt, vtt

from ingest.models import Cue, Segment, SpeakerTurn, Transcript, Word
from ingest.settings import CueSettings, Settings
from ingest.subtitles import cues, standards
from ingest.testing import fresh_host, make_job
from ingest.transcript import speakers

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


def with_speakers(t: Transcript, *names: str | None) -> Transcript:
    """``t`` with segment n (and its words) spoken by names[n]."""
    segs = tuple(
        replace(s, speaker=name, words=tuple(replace(w, speaker=name) for w in s.words))
        for s, name in zip(t.segments, names, strict=True)
    )
    return replace(t, segments=segs)


def parse_srt(text: str) -> list[Cue]:
    """Cues as a player reads them back from an SRT file, labels and all."""
    found = []
    for block in text.strip().split("\n\n"):
        _, times, *lines = block.split("\n")
        start, end = (_seconds(t) for t in times.split(" --> "))
        found.append(Cue(start, end, tuple(lines)))
    return found


def _seconds(clock: str) -> float:
    h, m, s = clock.replace(",", ".").split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


# -- without speakers: the output of before speakers existed, byte for byte --


def test_srt():
    assert srt.render(CUES) == (
        "1\n00:00:00,000 --> 00:00:01,500\nHello <world> & you\n\n"
        "2\n00:00:01,500 --> 00:00:04,250\nA second cue that runs\nover two lines.\n\n"
        "3\n01:01:01,200 --> 01:01:02,000\nLate.\n"
    )
    assert srt.render(()) == ""


def test_vtt_header_times_and_escaping():
    assert vtt.render(CUES, "en") == (
        "WEBVTT\n\n"
        "00:00:00.000 --> 00:00:01.500\nHello &lt;world&gt; &amp; you\n\n"
        "00:00:01.500 --> 00:00:04.250\nA second cue that runs\nover two lines.\n\n"
        "01:01:01.200 --> 01:01:02.000\nLate.\n"
    )


def test_vtt_magic_then_a_blank_line_and_the_language_header_only_by_option():
    """node-webvtt refuses, and the W3C validator flags, a line straight after WEBVTT."""
    assert vtt.render(CUES[:1], "de").startswith("WEBVTT\n\n00:00:00.000 --> ")
    assert vtt.render((), "de") == "WEBVTT\n"
    assert vtt.render(CUES[:1], "de", language_header=True).startswith("WEBVTT\nLanguage: de\n\n00:00:00.000")


def test_vtt_hook_reads_its_plugin_settings(tmp_path, monkeypatch):
    monkeypatch.setattr(vtt, "_settings", vtt._settings)  # restored after the test
    t = replace(transcript(), language="fr")
    heads = []
    for config in ({}, {"vtt": {"language_header": True}}):
        host = fresh_host(vtt, config=config)
        job = make_job(tmp_path / f"{len(heads)}.mkv", formats=("vtt",))
        with host.serving(Settings()):
            [[path]] = host.hook.ingest_write_outputs(job=job, transcript=t)
        heads.append(path.read_text(encoding="utf-8").split("\n\n")[0])
    assert heads == ["WEBVTT", "WEBVTT\nLanguage: fr"]


def test_txt_paragraphs_after_long_pauses():
    assert txt.render(transcript()) == "Hello there. Still talking.\n\nAfter a pause.\n"


def test_json_document():
    job = make_job(Path("/m/Show S01E01.mkv"))
    doc = json.loads(json_writer.render(job, transcript(task="translate")))
    assert list(doc) == [
        "schema",
        "generator",
        "media",
        "language",
        "detected_language",
        "language_probability",
        "task",
        "engine",
        "model",
        "duration",
        "speech",
        "filtered",
        "text",
        "segments",
        "cues",
    ]
    assert doc["media"] == "Show S01E01.mkv"
    assert (doc["language"], doc["detected_language"], doc["language_probability"]) == ("en", "de", 0.8765)
    assert (doc["engine"], doc["model"], doc["task"]) == ("e", "m", "translate")  # no timings: the run is not the file
    assert doc["segments"][0]["words"][1] == {
        "start": 0.6,
        "end": 1.2,
        "word": "there.",
        "probability": 0.8,
        "speaker": None,
    }
    assert doc["cues"][1]["lines"] == ["A second cue that runs", "over two lines."]
    assert doc["text"] == "Hello there. Still talking. After a pause."
    assert (doc["speech"], doc["filtered"]) == (None, {})  # VAD off, no filters ran


def test_json_documents_keep_their_shipped_schema():
    validator = jsonschema.Draft202012Validator(json_writer.schema())
    validator.check_schema(json_writer.schema())
    job = make_job(Path("/m/a.mkv"))
    spoken = with_speakers(transcript(speech=((0.0, 6.0),), filtered={"no_speech": 2}), "Ann", "Bo", "Ann")
    for t in (transcript(), transcript(task="translate"), spoken):
        validator.validate(json.loads(json_writer.render(job, t)))
    doc = json.loads(json_writer.render(job, transcript()))
    doc["segments"][0]["words"][0]["start"] = -1.0
    assert not validator.is_valid(doc)
    assert not validator.is_valid({**doc, "schema": 1})


def test_json_schema_ships_in_the_package():
    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text(encoding="utf-8"))
    globs = project["tool"]["setuptools"]["package-data"]["ingest_plugins"]
    assert any(json_writer.SCHEMA_FILE.match(g) for g in globs)
    assert json_writer.SCHEMA_FILE.parent == Path(json_writer.__file__).parent


def test_json_speech_regions_and_filter_counts():
    counts = {"outside_speech": 2, "no_speech": 0, "repetition": 5, "compression": 0, "known_phrase": 1}
    t = transcript(speech=((0.1234, 2.5), (4.9, 6.0)), filtered=counts)
    doc = json.loads(json_writer.render(make_job(Path("/m/a.mkv")), t))
    assert doc["speech"] == [[0.123, 2.5], [4.9, 6.0]]
    assert doc["filtered"] == counts


# -- with speakers --


def test_srt_labels_the_first_cue_of_each_turn():
    shown = (
        Cue(0.0, 1.0, ("Hi.",), "Ann"),
        Cue(1.0, 2.5, ("Still me.",), "Ann"),
        Cue(2.5, 3.5, ("Me now.",), "Bob"),
        Cue(3.5, 4.5, ("Nobody knows who.",)),
        Cue(4.5, 5.5, ("Bob again.",), "Bob"),
    )
    assert [c.lines for c in parse_srt(srt.render(shown))] == [
        ("Ann: Hi.",),
        ("Still me.",),
        ("Bob: Me now.",),
        ("Nobody knows who.",),
        ("Bob: Bob again.",),
    ]


def test_srt_label_rewraps_the_cue_to_keep_the_line_length():
    cue = Cue(0.0, 4.0, ("Today we are talking about home servers,", "and why people build them."), "Speaker 1")
    assert parse_srt(srt.render([cue]))[0].lines == (
        "Speaker 1: Today we are talking about",
        "home servers, and why people build them.",
    )


def test_srt_label_never_breaks_inside_a_name():
    cue = Cue(0.0, 3.0, ("Exactly what we wanted", "to hear from you today."), "Dr Mary Anne Smith")
    lines = parse_srt(srt.render([cue]))[0].lines
    assert lines[0].startswith("Dr Mary Anne Smith: ")
    assert max(map(len, lines)) <= 42


def test_srt_cue_too_full_for_its_label_is_cut_in_two():
    full = ("Honestly the thing that surprised me most", "about running all this was the power bill.")
    shown = parse_srt(srt.render([Cue(10.0, 16.0, full, "Speaker 2"), Cue(16.0, 17.0, ("Right.",), "Speaker 1")]))
    assert [c.lines for c in shown] == [
        ("Speaker 2: Honestly the", "thing that surprised me"),
        ("most about running all", "this was the power bill."),
        ("Speaker 1: Right.",),
    ]
    # 47 characters in each half: the 6 s are shared evenly.
    assert [(c.start, c.end) for c in shown] == [(10.0, 13.0), (13.0, 16.0), (16.0, 17.0)]
    assert standards.violations(shown, CueSettings()) == []


def test_srt_follows_the_configured_line_length():
    cue = Cue(0.0, 5.0, ("A podcast SRT keeps lines to", "thirty-two characters."), "Alexandra")
    lines = [ln for c in parse_srt(srt.render([cue], CueSettings(max_line_chars=32))) for ln in c.lines]
    assert lines[0].startswith("Alexandra: ")
    assert max(map(len, lines)) <= 32
    assert " ".join(lines) == "Alexandra: A podcast SRT keeps lines to thirty-two characters."


def test_srt_label_takes_reading_time_from_silence():
    shown = [Cue(1.0, 1.83, ("Yes, absolutely right.",), "Speaker 1"), Cue(5.0, 6.0, ("Good.",), "Speaker 2")]
    first, second = parse_srt(srt.render(shown))
    assert (first.start, first.end) == (1.0, 2.65)  # "Speaker 1: Yes, absolutely right." at 20 chars/s
    assert (second.start, second.end) == (5.0, 6.0)  # the last cue: where the media ends is unknown
    # Only 0.07 s after it: "A: Yes, absolutely right." needs 1.25 s, so it starts earlier.
    squeezed = [Cue(0.5, 1.33, ("Yes, absolutely right.",), "A"), Cue(1.4, 2.5, ("Go.",), "B")]
    first = parse_srt(srt.render(squeezed))[0]
    assert (first.start, first.end) == (0.15, 1.4)


def test_vtt_voices_every_cue_with_a_speaker():
    shown = (
        Cue(0.0, 1.0, ("Hi <all>,", "and you."), "Tom & <Jerry>"),
        Cue(1.0, 2.0, ("Still me.",), "Tom & <Jerry>"),
        Cue(2.0, 3.0, ("Unknown.",)),
    )
    assert vtt.render(shown, "en") == (
        "WEBVTT\n\n"
        "00:00:00.000 --> 00:00:01.000\n<v Tom \uff06 \u2039Jerry\u203a>Hi &lt;all&gt;,\nand you.\n\n"
        "00:00:01.000 --> 00:00:02.000\n<v Tom \uff06 \u2039Jerry\u203a>Still me.\n\n"
        "00:00:02.000 --> 00:00:03.000\nUnknown.\n"
    )


HOSTILE_NAME = "{\\an8}Ana <b>Bo</b> {x} & Co\\N"  # an ASS override, HTML tags, an ASS block and escape


def test_labels_and_voices_carry_no_markup_a_renderer_acts_on():
    """ffmpeg and libass move an SRT cue on {\\an8}, bold on <b>, hide {x}; ffmpeg's WebVTT
    reader shows the rest of a voice name after an escape such as &amp;."""
    assert speakers.label(HOSTILE_NAME) == "(/an8)Ana \u2039b\u203aBo\u2039/b\u203a (x) & Co/N"
    shown = (Cue(0.0, 2.0, ("Hi.",), HOSTILE_NAME),)
    wide = CueSettings(max_line_chars=60)
    assert srt.render(shown, wide).splitlines()[2] == "(/an8)Ana \u2039b\u203aBo\u2039/b\u203a (x) & Co/N: Hi."
    assert vtt.render(shown, "en").splitlines()[3] == "<v (/an8)Ana \u2039b\u203aBo\u2039/b\u203a (x) \uff06 Co/N>Hi."


def test_txt_speaker_turns_with_times():
    t = with_speakers(
        transcript(segments=(*transcript().segments, Segment(3725.0, 3726.0, " Bye.", ()))), "Ann", "Ann", "Bob", None
    )
    assert txt.render(t) == (
        "[00:00:00] Ann: Hello there. Still talking.\n\n[00:00:05] Bob: After a pause.\n\n[01:02:05] Bye.\n"
    )


def test_json_lists_speakers_in_order_of_first_words():
    job = make_job(Path("/m/ep.mp3"))
    doc = json.loads(json_writer.render(job, with_speakers(transcript(), "Bob", "Ann", "Bob")))
    assert doc["speakers"] == ["Bob", "Ann"]
    assert list(doc).index("speakers") == list(doc).index("text") + 1
    assert [s["speaker"] for s in doc["segments"]] == ["Bob", "Ann", "Bob"]
    assert {w["speaker"] for w in doc["segments"][0]["words"]} == {"Bob"}


# -- end to end: a three-speaker dialogue through speakers, cues and every writer --

DIALOGUE = (
    ("SPEAKER_02", "Welcome back to the show. Today we are talking about home servers, and why people keep at it."),
    ("SPEAKER_00", "Thanks for having me. I started with an old laptop in a cupboard, and it still runs every night."),
    ("SPEAKER_01", "Mine is a tiny board behind the router. It transcribes our podcast while we sleep."),
    ("SPEAKER_02", "That is exactly what we wanted to hear."),
)
NAMES = ("Alice", "Bob")  # the third speaker has no name: "Speaker 3"
EXPECTED = ("Alice", "Bob", "Speaker 3", "Alice")


def dialogue() -> tuple[Transcript, list[SpeakerTurn]]:
    """Words timed at a natural pace (about 15 characters a second), a short pause at each
    change of speaker, segments of 13 words that cross the changes as Whisper's do, and
    turns that start late and end early as a diarizer's may."""
    words: list[Word] = []
    turns: list[SpeakerTurn] = []
    t = 0.0
    for label, text in DIALOGUE:
        start = t
        for token in text.split():
            length = 0.12 + 0.055 * len(token)
            words.append(Word(round(t, 3), round(t + length, 3), " " + token))
            t += length + 0.06
        turns.append(SpeakerTurn(start + 0.1, t - 0.1, label))
        t += 0.25
    segs = tuple(
        Segment(ws[0].start, ws[-1].end, "".join(w.text for w in ws), ws)
        for ws in (tuple(words[i : i + 13]) for i in range(0, len(words), 13))
    )
    return Transcript("en", 0.99, round(t, 3), segs, "e", "m"), turns


def rendered_dialogue() -> Transcript:
    raw, turns = dialogue()
    labelled = speakers.assign(raw, turns, NAMES)
    return replace(labelled, cues=cues.build_cues(labelled.words, CueSettings(), labelled.duration))


def test_dialogue_speakers_change_at_the_right_words():
    raw, _ = dialogue()
    t = rendered_dialogue()
    spoken = [(w.speaker, w.text.strip()) for w in t.words]
    assert spoken == [
        (name, token) for name, (_, text) in zip(EXPECTED, DIALOGUE, strict=True) for token in text.split()
    ]
    changes = {n for n in range(1, len(spoken)) if spoken[n][0] != spoken[n - 1][0]}
    # A new segment where Whisper started one (every 13 words here) and where the speaker changes.
    assert [s.words[0] for s in t.segments] == [t.words[n] for n in sorted({0, 13, 26, 39, 52} | changes)]
    assert len(t.segments) > len(raw.segments)
    assert all(len({w.speaker for w in s.words}) == 1 and s.speaker == s.words[0].speaker for s in t.segments)
    # 0.31 s between speakers is no pause_split: the cues split there for the speaker alone.
    assert standards.violations(t.cues, CueSettings(), t.duration) == []


def turns_of(voiced: list[tuple[str | None, str]]) -> list[tuple[str | None, str]]:
    """Consecutive (speaker, text) pairs of one speaker joined into one."""
    joined: list[tuple[str | None, str]] = []
    for name, text in voiced:
        if joined and joined[-1][0] == name:
            joined[-1] = (name, f"{joined[-1][1]} {text}")
        else:
            joined.append((name, text))
    return joined


SPOKEN_TURNS = [(name, text) for name, (_, text) in zip(EXPECTED, DIALOGUE, strict=True)]


def test_dialogue_srt():
    t = rendered_dialogue()
    shown = parse_srt(srt.render(t.cues))
    label = re.compile(r"^(Alice|Bob|Speaker 3): ")
    voiced = [(c.speaker, c.text) for c in t.cues]  # the cue builder's cues, one speaker each
    assert turns_of(voiced) == SPOKEN_TURNS
    texts = [c.text for c in shown]
    labelled = [(m[1], text[m.end() :].split()[0]) for text in texts if (m := label.match(text))]
    assert labelled == [(name, text.split()[0]) for name, text in SPOKEN_TURNS]
    assert " ".join(label.sub("", text) for text in texts) == " ".join(text for _, text in DIALOGUE)
    assert standards.violations(shown, CueSettings(), t.duration) == []  # the labels included


def test_srt_labels_keep_the_line_limits_on_dense_speech():
    dense = (
        ("A", "Honestly the thing that surprised me most about running this whole setup was the power bill"),
        ("B", "Right and did you ever measure what the graphics card alone was drawing while idle all night"),
        ("C", "No"),
        ("D", "https://example.org/a-very-long-address-that-fills-a-line is where it lives"),
    )
    words = [
        Word(i * 0.3, i * 0.3 + 0.25, f" {w}", speaker=who)
        for i, (who, w) in enumerate((who, w) for who, text in dense for w in text.split())
    ]
    names = {"A": "Alexandra Featherstonehaugh", "B": "Speaker 2", "C": "Speaker 3", "D": "Dr Q"}
    words = [replace(w, speaker=names[w.speaker or ""]) for w in words]
    for limits in (CueSettings(), CueSettings(max_line_chars=32), CueSettings(max_lines=1)):
        shown = parse_srt(srt.render(cues.build_cues(words, limits), limits))
        assert [v for v in standards.violations(shown, limits) if "line" in v] == []
        assert " ".join(c.text for c in shown).count(":") == 5  # four labels and the URL's


def test_dialogue_vtt():
    t = rendered_dialogue()
    blocks = vtt.render(t.cues, "en").rstrip("\n").split("\n\n")[1:]
    voiced = [re.fullmatch(r"<v ([^>]+)>(.*)", " ".join(b.split("\n")[1:])) for b in blocks]
    assert all(voiced)
    assert turns_of([(m[1], m[2]) for m in voiced if m]) == SPOKEN_TURNS


def test_dialogue_txt():
    stamps = ("00:00:00", "00:00:07", "00:00:15", "00:00:22")
    paragraphs = [f"[{stamp}] {name}: {text}" for stamp, (name, text) in zip(stamps, SPOKEN_TURNS, strict=True)]
    assert txt.render(rendered_dialogue()) == "\n\n".join(paragraphs) + "\n"


def test_dialogue_json_and_podcast():
    t = rendered_dialogue()
    doc = json.loads(json_writer.render(make_job(Path("/pod/ep42.mp3")), t))
    assert doc["speakers"] == ["Alice", "Bob", "Speaker 3"]
    assert turns_of([(w["speaker"], w["word"]) for s in doc["segments"] for w in s["words"]]) == SPOKEN_TURNS
    assert turns_of([(c["speaker"], " ".join(c["lines"])) for c in doc["cues"]]) == SPOKEN_TURNS
    segments = json.loads(podcast.render(t))["segments"]
    assert turns_of([(s["speaker"], s["body"]) for s in segments]) == SPOKEN_TURNS
