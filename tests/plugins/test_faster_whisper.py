"""The faster-whisper engine through its hook, on the shipped tiny.en weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from faster_whisper import decode_audio
from ingest_plugins import faster_whisper as fw

from ingest.models import Audio, AudioTrack, Job, JobOptions
from tests.wer import JFK, wer

TRACK = AudioTrack(0, "flac", 1, "mono", "en", True)


def test_device_and_compute_type_choices():
    assert fw.device_of("cpu") == ("cpu", 0)
    assert fw.device_of("cuda:1") == ("cuda", 1)
    assert fw.device_of("auto") == (("cuda", 0) if fw.cuda_devices() else ("cpu", 0))
    assert fw.compute_type_of("auto", "cpu") == "int8"
    assert fw.compute_type_of("auto", "cuda") == "float16"  # the GPU path; no GPU in CI
    assert fw.compute_type_of("float32", "cpu") == "float32"


def test_transcribe_hook_words_language_progress(shared_media):
    samples = decode_audio(str(shared_media / "jfk.flac"), sampling_rate=16000)
    seen: list[tuple[float, float]] = []
    job = Job(Path("jfk.flac"), JobOptions(model="tiny.en", device="cpu"), progress=lambda d, t: seen.append((d, t)))
    transcript = fw.ingest_transcribe(job=job, audio=Audio(samples, 16000, TRACK))
    assert (transcript.engine, transcript.model, transcript.language) == ("faster-whisper", "tiny.en", "en")
    assert wer(JFK, transcript.text) <= 0.05
    words = transcript.words
    assert [w.start for w in words] == sorted(w.start for w in words)
    assert all(0 <= w.start <= w.end <= 11.1 for w in words)
    assert seen and seen[-1][0] == pytest.approx(transcript.segments[-1].end) and seen[-1][1] == pytest.approx(11.0)


def test_other_engines_are_left_alone():
    job = Job(Path("x"), JobOptions(engine="openai-whisper"))
    assert fw.ingest_transcribe(job=job, audio=Audio(np.zeros(16000, np.float32), 16000, TRACK)) is None


def test_model_stays_loaded_between_jobs():
    from ingest import weights

    ref = weights.resolve("tiny.en", weights.default_models_dir())
    assert fw.load(ref, "cpu", 0, "int8", 0) is fw.load(ref, "cpu", 0, "int8", 0)
