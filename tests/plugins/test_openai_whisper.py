"""The openai-whisper engine through its hook, on shipped weights converted by ingest."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest
import structlog
from faster_whisper import decode_audio
from ingest_plugins import faster_whisper as fw
from ingest_plugins import openai_whisper as ow

from ingest.engines import device
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


def test_clip_ends_are_held_to_the_last_whole_frame(jfk):
    """A region ending at the audio's end, in the second half of a 10-ms frame, rounds one
    frame past openai-whisper's features; the clip's end is held to the last whole frame."""
    cut = replace(jfk, samples=jfk.samples[:175_920], speech=((0.0, 10.995),))  # 1099.5 frames
    assert ow.clip_timestamps(cut) == [0.0, 10.99]
    assert ow.clip_timestamps(replace(cut, speech=((2.0, 3.0), (10.992, 10.995)))) == [2.0, 3.0]
    assert ow.clip_timestamps(replace(cut, speech=((10.992, 10.995),))) == []  # nothing to decode
    assert ow.clip_timestamps(replace(cut, speech=None)) == "0"


def test_every_temperature_failing_keeps_the_best_decode_as_faster_whisper_does():
    import dataclasses

    @dataclasses.dataclass(frozen=True)
    class Result:
        avg_logprob: float
        compression_ratio: float
        temperature: float
        no_speech_prob: float = 0.1

    answers = {0.0: Result(-1.2, 1.5, 0.0), 0.5: Result(-0.3, 3.0, 0.5), 1.0: Result(-1.8, 1.2, 1.0)}

    class Model:
        device = "cpu"

        def decode(self, segment, options):
            return answers[options.temperature]

    proxy = ow._Fallback(Model(), (0.0, 0.5, 1.0))
    window = object()
    picked = [proxy.decode(window, ow_options(t)) for t in (0.0, 0.5, 1.0)]
    # the passing-compression decode with the best log-probability, marked with the last temperature
    assert picked[:2] == [answers[0.0], answers[0.5]] and picked[2] == Result(-1.2, 1.5, 1.0)
    assert proxy.device == "cpu"  # everything else is the model's
    answers[0.0] = Result(-0.2, 1.3, 0.0)
    assert proxy.decode(object(), ow_options(0.0)) is answers[0.0]  # a pass is returned as it is
    assert not ow.failed(Result(-1.5, 3.0, 0.0, no_speech_prob=0.9))  # silence is no failure


def ow_options(temperature: float):
    from whisper import DecodingOptions

    return DecodingOptions(temperature=temperature)


@pytest.mark.slow
def test_speech_to_the_clip_end_decodes_once_with_no_empty_segments(jfk, monkeypatch):
    """Issue 16: the clip's end one frame past the features made openai-whisper decode no audio
    again and again at the end (empty, instantaneous segments; a 16-s clip took 85 s)."""
    import whisper.model

    decodes = []
    real = whisper.model.Whisper.decode

    def counted(model, mel, options):
        decodes.append(options.temperature)
        assert len(decodes) <= 6, "openai-whisper keeps decoding the clip's end"
        return real(model, mel, options)

    monkeypatch.setattr(whisper.model.Whisper, "decode", counted)
    cut = replace(jfk, samples=jfk.samples[:175_920], speech=((0.0, 10.995),))  # the VAD's rounded end
    transcript = transcribe(cut, model="tiny.en")
    assert decodes == [0.0]
    assert wer(JFK, transcript.text) <= 0.05, transcript.text
    assert all(s.text.strip() and s.end > s.start for s in transcript.segments)


def test_one_torch_thread_on_two_cores_unless_told(monkeypatch):
    import torch

    before = torch.get_num_threads()
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    try:
        device.torch_threads(0)
        assert torch.get_num_threads() == 1
        device.torch_threads(3)  # transcribe.cpu_threads wins
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)
