"""The whole pipeline on real media with the real engine on the shipped weights."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import structlog

from ingest import pipeline, plugins, settings
from ingest.models import Job
from ingest.settings.options import job_options
from ingest.subtitles import standards
from tests.support import mediafactory as mf
from tests.support.wer import JFK, normalize, wer


@pytest.fixture(scope="module")
def host() -> plugins.Host:
    return plugins.load()


def run(path: Path, host: plugins.Host, **options) -> pipeline.JobResult:
    conf = settings.load(transcribe={"model": options.pop("model", "tiny.en")}, **options.pop("conf", {}))
    job = Job(path, job_options(conf, path))
    result = pipeline.run(replace(job, options=replace(job.options, **options)), conf, host)
    if result.status == "done":  # every cue of every run keeps the subtitle standards
        assert standards.violations(result.transcript.cues, conf.cues, result.duration) == []
        assert result.transcript.cues, "speech but no cues"
    return result


def copy(src: Path, folder: Path, name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(src, folder / (name or src.name)))


def test_jfk_all_formats(shared_media, tmp_path, host):
    media = copy(shared_media / "jfk.flac", tmp_path)
    result = run(media, host, formats=("srt", "vtt", "txt", "json"))
    assert result.status == "done", result.error
    names = sorted(p.name for p in result.outputs)
    assert names == ["jfk-transcript.en.txt", "jfk.en.json", "jfk.en.srt", "jfk.en.vtt"]  # beside audio: not lyrics
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*names, "jfk.flac"])  # no temp files
    doc = json.loads((tmp_path / "jfk.en.json").read_text(encoding="utf-8"))
    assert wer(JFK, doc["text"]) <= 0.05
    assert (doc["language"], doc["engine"], doc["model"]) == ("en", "faster-whisper", "tiny.en")
    assert doc["language_probability"] > 0.5
    assert set(result.timings) >= {"probe", "extract", "transcribe", "cues"} and "timings" not in doc
    assert all(w["end"] >= w["start"] for s in doc["segments"] for w in s["words"])
    srt = (tmp_path / "jfk.en.srt").read_text(encoding="utf-8")
    assert srt.startswith("1\n00:00:0") and " --> " in srt
    assert (tmp_path / "jfk.en.vtt").read_text(encoding="utf-8").startswith("WEBVTT\n")
    assert wer(JFK, (tmp_path / "jfk-transcript.en.txt").read_text(encoding="utf-8")) <= 0.05


def test_music_and_silence_alone_skip_with_the_reason_and_write_nothing(tmp_path, host):
    """An empty subtitle file beside a film shows up in players as a track: write none."""
    parts = [mf.music_wav(tmp_path / "m.wav", 8), mf.silence_wav(tmp_path / "s.wav", 4)]
    media = mf.joined(tmp_path / "credits.wav", parts)
    result = run(media, host, formats=("srt", "json"))
    assert result.status == "skipped" and result.error.startswith("no speech found"), result.error
    assert "transcribe" not in result.timings and "vad" in result.timings
    assert sorted(p.name for p in tmp_path.iterdir()) == ["credits.wav", "m.wav", "s.wav"]


def test_cues_only_over_speech_with_counts_in_json_and_summary(shared_media, tmp_path, host):
    """JFK after 8 s of music and 6 s of silence, 5 s of noise after: cues only over speech."""
    parts = [mf.music_wav(tmp_path / "m.wav", 8), mf.silence_wav(tmp_path / "s.wav", 6)]
    media = mf.joined(
        tmp_path / "cold_open.wav", [*parts, shared_media / "jfk.flac", mf.noise_wav(tmp_path / "n.wav", 5)]
    )
    with structlog.testing.capture_logs() as logs:
        result = run(media, host, formats=("srt", "json"))
    assert result.status == "done", result.error
    assert wer(JFK, result.transcript.text) <= 0.05
    assert result.transcript.cues[0].start > 13.0 and result.transcript.cues[-1].end < 25.5
    doc = json.loads((tmp_path / "cold_open.en.json").read_text(encoding="utf-8"))
    assert list(doc["filtered"]) == [
        *("outside_speech", "no_speech", "vocables", "echo"),
        *("repetition", "compression", "known_phrase", "unsure"),
    ]
    assert len(doc["speech"]) == 1 and 13.0 < doc["speech"][0][0] < 14.4 < 24.5 < doc["speech"][0][1] < 25.5
    summary = next(e for e in logs if e["event"] == "job_done")
    assert summary["filtered"] == doc["filtered"] and 10 < summary["speech_seconds"] < 12.5
    assert set(summary["timings"]) >= {"vad", "filter"}


def test_vad_off_hears_the_whole_file(shared_media, tmp_path, host):
    media = copy(shared_media / "jfk.flac", tmp_path)
    result = run(media, host, formats=("json",), conf={"speech": {"vad": False}})
    assert result.status == "done", result.error
    assert result.transcript.speech is None and result.transcript.filtered["outside_speech"] == 0
    assert json.loads((tmp_path / "jfk.en.json").read_text(encoding="utf-8"))["speech"] is None


def test_track_by_language_preference_and_default(two_track_mkv, tmp_path, host):
    """The German track is the default; a preference for English picks English."""
    media = copy(two_track_mkv, tmp_path)
    english = run(media, host, conf={"audio": {"track_languages": ["en"]}})
    assert english.status == "done", english.error
    assert wer(mf.ENGLISH, english.transcript.text) <= 0.1
    assert [p.name for p in english.outputs] == [f"{media.stem}.en.srt"]


def test_language_detection_picks_default_german_track(two_track_mkv, tmp_path, host):
    media = copy(two_track_mkv, tmp_path)
    result = run(media, host, model="base")
    assert result.status == "done", result.error
    assert result.transcript.language == "de"
    assert [p.name for p in result.outputs] == [f"{media.stem}.de.srt"]
    assert wer(mf.GERMAN, result.transcript.text) <= 0.2


def test_translate_names_outputs_english(two_track_mkv, tmp_path, host):
    media = copy(two_track_mkv, tmp_path)
    result = run(media, host, model="base", task="translate", language="de", language_codes="639-2/B")
    assert result.status == "done", result.error
    assert [p.name for p in result.outputs] == [f"{media.stem}.eng.srt"]
    assert result.transcript.language == "de"
    assert {"time", "today", "meet"} <= set(normalize(result.transcript.text).split())


def test_surround_takes_dialogue_from_the_centre(surround_mkv, tmp_path, host):
    media = copy(surround_mkv, tmp_path)
    result = run(media, host)
    assert result.status == "done", result.error
    assert wer(mf.ENGLISH, result.transcript.text) <= 0.1


def test_existing_sidecar_is_kept_and_nothing_else_written(shared_media, tmp_path, host):
    media = copy(shared_media / "jfk.flac", tmp_path)
    mine = tmp_path / "jfk.en.srt"
    mine.write_text("my own subtitles\n", encoding="utf-8")
    result = run(media, host, formats=("vtt", "srt"))
    assert result.status == "failed"
    assert "jfk.en.srt already exists (use --overwrite to replace)" in result.error
    assert mine.read_text(encoding="utf-8") == "my own subtitles\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jfk.en.srt", "jfk.flac"]
    forced = run(media, host, formats=("srt",), language="en")  # known language: refused before work
    assert forced.status == "failed" and "transcribe" not in forced.timings
    again = run(media, host, formats=("vtt", "srt"), overwrite=True)
    assert again.status == "done", again.error
    assert mine.read_text(encoding="utf-8").startswith("1\n")


def test_output_dir(shared_media, tmp_path, host):
    media = copy(shared_media / "jfk.flac", tmp_path / "in")
    result = run(media, host, output_dir=tmp_path / "out")
    assert [p.parent.name for p in result.outputs] == ["out"]
    assert sorted(p.name for p in (tmp_path / "in").iterdir()) == ["jfk.flac"]


def test_bad_inputs_fail_alone_with_the_file_and_cause(
    tmp_path, host, zero_byte_mkv, text_mkv, video_only_mkv, truncated_mkv, truncated_mp4
):
    cases = {
        zero_byte_mkv: "empty file (0 bytes)",
        text_mkv: "not a readable media file",
        video_only_mkv: "no audio stream",
        truncated_mkv: "truncated or damaged",
        truncated_mp4: "moov atom not found",
        tmp_path / "missing.mkv": "no such file",
        tmp_path: "is a folder",
    }
    for path, cause in cases.items():
        result = run(path, host)
        assert result.status == "failed"
        assert str(path) in result.error and cause in result.error, result.error
    for folder in {tmp_path, zero_byte_mkv.parent}:
        left = [p.name for p in folder.iterdir() if p.suffix in {".srt", ".ingest-tmp"}]
        assert left == [], f"bad inputs left files behind: {left}"


@pytest.mark.parametrize(
    ("vocabulary", "expected"),
    [({}, 0), ({"initial_prompt": "Glossary: Jellyfin."}, 2), ({"hotwords": ("Jellyfin",)}, 2)],
)
def test_custom_vocabulary_reaches_the_engine(tmp_path, host, vocabulary, expected):
    """base hears espeak-ng's "Jellyfin" as "Galaxy Fin" unless the vocabulary names it."""
    text = "Open Jellyfin on the television. Jellyfin shows the new film."
    wav = mf.speech_wav(tmp_path / "vocab.wav", text, "en-us", speed=175)
    result = run(wav, host, model="base", language="en", **vocabulary)
    assert result.status == "done", result.error
    assert result.transcript.text.count("Jellyfin") == expected, result.transcript.text


DIALOGUE = [  # voices a speaker model tells apart (MODELS.md), plain sentences Whisper hears well
    ("en-gb-x-rp+f4", "Good morning everyone and welcome to the show."),
    ("en+m7", "Thank you for having me here today."),
    ("en-us+klatt2", "I brought some coffee for all of us."),
    ("en-gb-x-rp+f4", "Wonderful, let us start with the news."),
]


@pytest.fixture(scope="module")
def dialogue(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("dialogue")
    parts = [mf.speech_wav(folder / f"{n}.wav", text, voice) for n, (voice, text) in enumerate(DIALOGUE)]
    inputs = [arg for p in parts for arg in ("-i", str(p))]
    chain = "".join(f"[{n}:a]aresample=16000,apad=pad_dur=0.8[a{n}];" for n in range(len(parts)))
    chain += "".join(f"[a{n}]" for n in range(len(parts))) + f"concat=n={len(parts)}:v=0:a=1[out]"
    out = folder / "dialogue.wav"
    mf.ffmpeg(*inputs, "-filter_complex", chain, "-map", "[out]", out)
    return out


@pytest.mark.slow
def test_diarized_dialogue_in_every_format(dialogue, tmp_path, host):
    media = copy(dialogue, tmp_path, "ep42.wav")
    formats = ("srt", "vtt", "txt", "json", "podcast")
    result = run(media, host, model="base", language="en", formats=formats, diarize=True, speaker_names=("Ana", "Ben"))
    assert result.status == "done", result.error
    assert "diarize" in result.timings
    turns = [(s.speaker, normalize(s.text)) for s in result.transcript.segments]
    expected = ["Ana", "Ben", "Speaker 3", "Ana"]  # named in order of first appearance, the rest numbered
    assert [speaker for speaker, _ in turns] == expected, turns
    for (speaker, text), (_, said) in zip(turns, DIALOGUE, strict=True):
        assert wer(said, text) <= 0.25, (speaker, text)
    srt = (tmp_path / "ep42.en.srt").read_text(encoding="utf-8")
    assert [ln.split(":")[0] for ln in srt.splitlines() if ln.startswith(("Ana:", "Ben:", "Speaker 3:"))] == expected
    vtt = (tmp_path / "ep42.en.vtt").read_text(encoding="utf-8")
    assert "<v Ana>Good morning" in vtt and "<v Ben>Thank you" in vtt and "<v Speaker 3>I brought" in vtt
    txt = (tmp_path / "ep42-transcript.en.txt").read_text(encoding="utf-8")
    assert [p.split("] ")[1].split(":")[0] for p in txt.strip().split("\n\n")] == expected
    doc = json.loads((tmp_path / "ep42.en.json").read_text(encoding="utf-8"))
    assert doc["speakers"] == ["Ana", "Ben", "Speaker 3"]
    # filtered, then split by speaker: run() has checked every cue against the standards
    assert sum(doc["filtered"].values()) == 0 and len(doc["speech"]) >= 1
    podcast = json.loads((tmp_path / "ep42.en.transcript.json").read_text(encoding="utf-8"))
    assert podcast["version"] == "1.0.0"
    assert [s["speaker"] for s in podcast["segments"]] == expected
    assert all(s["endTime"] > s["startTime"] for s in podcast["segments"])


def test_without_diarization_nothing_names_a_speaker(dialogue, tmp_path, host):
    media = copy(dialogue, tmp_path, "ep43.wav")
    result = run(media, host, model="base", language="en", formats=("srt", "vtt", "json"))
    assert result.status == "done", result.error
    assert "diarize" not in result.timings
    assert all(s.speaker is None for s in result.transcript.segments)
    assert "<v " not in (tmp_path / "ep43.en.vtt").read_text(encoding="utf-8")
    assert "speakers" not in json.loads((tmp_path / "ep43.en.json").read_text(encoding="utf-8"))
