"""The openai-whisper engine through its hook, on shipped weights converted by ingest."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import structlog
from faster_whisper import decode_audio
from ingest_plugins import faster_whisper as fw
from ingest_plugins import openai_whisper as ow

from ingest.media import vad
from ingest.models import Audio, AudioTrack, JobOptions
from ingest.settings import SpeechSettings
from ingest.testing import make_job
from tests.support import mediafactory as mf
from tests.support.wer import JFK, normalize, wer

TRACK = AudioTrack(0, "pcm", 1, "mono", None, True)


def audio_of(path: Path) -> Audio:
    return Audio(decode_audio(str(path), sampling_rate=16000), 16000, TRACK)


@pytest.fixture(scope="module")
def jfk(shared_media) -> Audio:
    return audio_of(shared_media / "jfk.flac")


def transcribe(audio: Audio, engine=ow, **options):
    job = make_job(Path("clip.wav"), engine=engine.NAME, device="cpu", **options)
    return engine.ingest_transcribe(job=job, audio=audio)


@pytest.mark.slow
def test_same_transcript_shape_and_words_as_faster_whisper(jfk):
    ours = transcribe(jfk, model="tiny.en")
    theirs = transcribe(jfk, fw, model="tiny.en", compute_type="float32")
    assert (ours.engine, ours.model, ours.language, ours.task) == ("openai-whisper", "tiny.en", "en", "transcribe")
    assert wer(JFK, ours.text) <= 0.05
    assert [normalize(w.text) for w in ours.words] == [normalize(w.text) for w in theirs.words]
    # alignment heads from the CTranslate2 config make word times agree (the fallback heads are off by 0.36 s)
    assert max(abs(a.start - b.start) for a, b in zip(ours.words, theirs.words, strict=True)) < 0.3
    assert all(isinstance(s.avg_logprob, float) and s.words for s in ours.segments)


@pytest.mark.slow
def test_language_detection_and_translate(tmp_path):
    german = audio_of(mf.speech_wav(tmp_path / "de.wav", mf.GERMAN, voice="de", speed=130))
    heard = transcribe(german, model="base")
    assert heard.language == "de" and heard.language_probability > 0.5
    assert wer(mf.GERMAN, heard.text) <= 0.25
    translated = transcribe(german, model="base", task="translate", language="de")
    assert translated.output_language == "en"
    assert {"time", "today"} <= set(normalize(translated.text).split()), translated.text


@pytest.mark.slow
def test_hotwords_become_a_glossary_in_the_prompt(tmp_path):
    assert ow.prompt(JobOptions(initial_prompt="A podcast.", hotwords=("Jellyfin", "Sonarr"))) == (
        "A podcast. Glossary: Jellyfin, Sonarr."
    )
    clip = audio_of(mf.speech_wav(tmp_path / "v.wav", "Open Jellyfin on the television.", "en-us", speed=175))
    assert "Jellyfin" not in transcribe(clip, model="base", language="en").text
    assert "Jellyfin" in transcribe(clip, model="base", language="en", hotwords=("Jellyfin",)).text


@pytest.mark.slow
def test_cuda_out_of_memory_falls_back_to_cpu(jfk, monkeypatch):
    """No GPU here: the out-of-memory error is injected where the model would be loaded on
    "cuda" (the engine boundary); the fallback, the CPU load and the transcription are real."""
    real_load = ow.load

    def load(ref, plan):
        if plan.device == "cuda":
            raise RuntimeError("CUDA out of memory. Tried to allocate 1.00 GiB")
        return real_load(ref, plan)

    monkeypatch.setattr(ow, "load", load)
    with structlog.testing.capture_logs() as logs:
        transcript = ow.ingest_transcribe(
            job=make_job(Path("jfk.flac"), engine="openai-whisper", model="tiny.en", device="cuda"), audio=jfk
        )
    assert wer(JFK, transcript.text) <= 0.05
    assert [(e["device"], e["retry_device"]) for e in logs if e["event"] == "cuda_out_of_memory"] == [("cuda:0", "cpu")]


def test_other_engines_are_left_alone(jfk):
    assert ow.ingest_transcribe(job=make_job(Path("x"), engine="faster-whisper"), audio=jfk) is None


@pytest.mark.slow
def test_only_speech_is_decoded(tmp_path, shared_media):
    """JFK between music, silence and pink noise: openai-whisper decodes the VAD clips only."""
    silence = mf.silence_wav(tmp_path / "s.wav", 4)
    parts = [
        mf.music_wav(tmp_path / "m.wav", 6),
        silence,
        shared_media / "jfk.flac",
        mf.noise_wav(tmp_path / "n.wav", 4),
    ]
    audio = vad.detect(audio_of(mf.joined(tmp_path / "gated.wav", [*parts, silence])), SpeechSettings())
    transcript = transcribe(audio, model="tiny.en")
    assert wer(JFK, transcript.text) <= 0.05, transcript.text
    assert transcript.words and all(vad.contains(audio.speech, (w.start + w.end) / 2) for w in transcript.words)
    assert transcript.words[0].start > 9.5  # the file's own times, not the clip's


def test_no_speech_regions_decode_nothing(jfk):
    silent = replace(jfk, speech=())
    assert transcribe(silent, model="tiny.en").segments == ()
