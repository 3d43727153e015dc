"""The faster-whisper engine through its hook, on the shipped tiny.en weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import structlog
from faster_whisper import decode_audio
from ingest_plugins import faster_whisper as fw

from ingest.engines.modelcache import ModelCache
from ingest.media import vad
from ingest.models import Audio, AudioTrack, Job, JobOptions
from ingest.settings import SpeechSettings
from ingest.testing import make_job
from tests.support.wer import JFK, wer

TRACK = AudioTrack(0, "flac", 1, "mono", "en", True)


def test_compute_type_choices():
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
    job = make_job(Path("x"), engine="openai-whisper")
    assert fw.ingest_transcribe(job=job, audio=Audio(np.zeros(16000, np.float32), 16000, TRACK)) is None


def test_model_stays_loaded_between_jobs(shared_media, monkeypatch):
    loads = []
    real_load = fw.load
    monkeypatch.setattr(fw.modelcache, "CACHE", ModelCache())  # a fresh cache: earlier tests warmed the shared one
    monkeypatch.setattr(fw, "load", lambda *a: loads.append(a) or real_load(*a))
    samples = decode_audio(str(shared_media / "jfk.flac"), sampling_rate=16000)
    job = make_job(Path("jfk.flac"), model="tiny.en", device="cpu", cpu_threads=1)
    for _ in range(2):
        fw.ingest_transcribe(job=job, audio=Audio(samples[: 16000 * 3], 16000, TRACK))
    assert len(loads) == 1


def test_cuda_out_of_memory_falls_back_to_cpu(shared_media, monkeypatch):
    """No GPU here: the out-of-memory error is injected at the engine boundary (loading a
    model on "cuda"), the one place these tests stand in for hardware. Everything after it,
    the retries, the CPU load and the transcription, is real."""
    real_load = fw.load

    def load(ref, plan, compute_type, threads, seed):
        if plan.device == "cuda":
            raise RuntimeError("CUDA failed with error out of memory")
        assert compute_type == "int8", "a float16 choice made for the GPU must not follow us to the CPU"
        return real_load(ref, plan, compute_type, threads, seed)

    monkeypatch.setattr(fw, "load", load)
    samples = decode_audio(str(shared_media / "jfk.flac"), sampling_rate=16000)
    job = make_job(Path("jfk.flac"), model="tiny.en", device="cuda", batch_size=2, compute_type="float16")
    with structlog.testing.capture_logs() as logs:
        transcript = fw.ingest_transcribe(job=job, audio=Audio(samples, 16000, TRACK))
    assert wer(JFK, transcript.text) <= 0.05
    ooms = [(e["device"], e["batch_size"], e["retry_device"]) for e in logs if e["event"] == "cuda_out_of_memory"]
    assert ooms == [("cuda:0", 2, "cuda:0"), ("cuda:0", 1, "cpu")]


def test_batched_pipeline_on_cpu_gives_the_same_words(shared_media):
    """The GPU default is the batched pipeline; its CPU twin runs here."""
    samples = decode_audio(str(shared_media / "jfk.flac"), sampling_rate=16000)
    job = make_job(Path("jfk.flac"), model="tiny.en", device="cpu", batch_size=4)
    transcript = fw.ingest_transcribe(job=job, audio=Audio(samples, 16000, TRACK))
    assert wer(JFK, transcript.text) <= 0.05
    assert transcript.words and all(w.end >= w.start for w in transcript.words)


@pytest.fixture(scope="module")
def jfk_between_music_and_noise(tmp_path_factory, shared_media) -> Audio:
    """6 s music, 4 s silence, JFK (10-21 s), 4 s pink noise, 4 s silence; VAD regions on."""
    from tests.support import mediafactory as mf

    d = tmp_path_factory.mktemp("gated")
    silence = mf.silence_wav(d / "s.wav", 4)
    parts = [mf.music_wav(d / "m.wav", 6), silence, shared_media / "jfk.flac", mf.noise_wav(d / "n.wav", 4), silence]
    audio = Audio(mf.pcm16k(mf.joined(d / "gated.wav", parts)), 16000, TRACK)
    return vad.detect(audio, SpeechSettings())


@pytest.mark.parametrize("batch_size", [1, 4])  # sequential clips, and the batched pipeline's dict clips
def test_only_speech_is_decoded(jfk_between_music_and_noise, batch_size):
    audio = jfk_between_music_and_noise
    assert len(audio.speech) == 1 and 9.0 < audio.speech[0][0] < 10.5 < 20.5 < audio.speech[0][1] < 22.0
    job = make_job(Path("gated.wav"), model="tiny.en", device="cpu", batch_size=batch_size)
    transcript = fw.ingest_transcribe(job=job, audio=audio)
    assert wer(JFK, transcript.text) <= 0.05, transcript.text
    assert all(vad.contains(audio.speech, (w.start + w.end) / 2) for w in transcript.words)


def test_no_speech_regions_decode_nothing():
    silent = Audio(np.zeros(16000 * 5, np.float32), 16000, TRACK, speech=())
    transcript = fw.ingest_transcribe(job=make_job(Path("x"), model="tiny.en", device="cpu"), audio=silent)
    assert transcript.segments == () and transcript.duration == 5.0


def test_batched_pipeline_takes_a_region_that_ends_past_the_last_sample(shared_media):
    """A file that is one speech region: rounded to the millisecond, its end passed the last
    sample and faster-whisper's batched pipeline asserted (its clips outlasted the audio)."""
    samples = decode_audio(str(shared_media / "jfk.flac"), sampling_rate=16000)
    audio = Audio(samples, 16000, TRACK, speech=((0.0, len(samples) / 16000 + 0.001),))
    job = make_job(Path("jfk.flac"), model="tiny.en", device="cpu", batch_size=4)
    assert wer(JFK, fw.ingest_transcribe(job=job, audio=audio).text) <= 0.05
