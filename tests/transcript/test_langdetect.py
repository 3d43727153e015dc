"""Language from speech spread over the file, not from its first 30 s.

Measured with the shipped multilingual ``base`` (faster-whisper), 30 s of a lead-in then
espeak-ng speech: Whisper's own first-30-s judgement said "ro" (0.79) after music, "nn"
(0.43) after pink noise and "en" (0.38) after silence, whatever the language spoken;
ingest said de 0.84-0.88, es 0.97-0.98 and en 0.89-0.92.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ingest_plugins import faster_whisper as fw
from ingest_plugins import openai_whisper as ow

from ingest.engines import checkpoints, device, weights
from ingest.engines.modelcache import CACHE
from ingest.media import vad
from ingest.models import Audio, AudioTrack, Job, JobOptions
from ingest.settings import SpeechSettings
from ingest.transcript import langdetect
from tests.support import mediafactory as mf
from tests.support.wer import wer

TRACK = AudioTrack(0, "pcm", 1, "mono", None, True)


@pytest.fixture(scope="module")
def music_then_german(tmp_path_factory) -> Audio:
    """30 s of music, then German (espeak-ng): the opening is no help at all."""
    d = tmp_path_factory.mktemp("lang")
    speech = mf.speech_wav(d / "de.wav", mf.GERMAN, voice="de", speed=130)
    samples = mf.pcm16k(mf.joined(d / "opening.wav", [mf.music_wav(d / "m.wav", 30), speech]))
    return vad.detect(Audio(samples, 16000, TRACK), SpeechSettings())


@pytest.mark.slow
def test_faster_whisper_hears_german_after_music_where_the_first_30_s_say_otherwise(music_then_german):
    job = Job(Path("opening.wav"), JobOptions(model="base", device="cpu"))
    transcript = fw.ingest_transcribe(job=job, audio=music_then_german)
    assert (transcript.language, transcript.language_probability > 0.7) == ("de", True)
    assert wer(mf.GERMAN, transcript.text) <= 0.25, transcript.text
    assert all(w.start >= 29.0 for w in transcript.words)  # not a word over the music
    ref, plan = weights.resolve("base", job.options.models_dir), device.plan("cpu")
    with CACHE.use((fw.NAME, ref.location, "cpu", 0, "int8", 0), lambda: fw.load(ref, plan, "int8", 0)) as model:
        before, _, _ = model.detect_language(audio=music_then_german.samples)  # Whisper's own way
    assert before != "de"


@pytest.mark.slow
def test_openai_whisper_hears_german_after_music(music_then_german):
    ref = checkpoints.resolve("base", JobOptions().models_dir)
    plan = device.plan("cpu")
    with CACHE.use((ow.NAME, ref.location, plan.name), lambda: ow.load(ref, plan)) as model:
        heard = langdetect.decide(None, True, music_then_german, lambda x: ow.probabilities(model, x))
        first_30_s = ow.probabilities(model, music_then_german.samples)
    assert (heard.language, heard.windows) == ("de", 1) and heard.probability > 0.7
    assert max(first_30_s, key=first_30_s.get) != "de"


def test_forced_language_and_english_only_models_need_no_listening():
    audio = Audio(np.zeros(16000, np.float32), 16000, TRACK)

    def deaf(_):
        raise AssertionError("nothing should be heard")

    assert langdetect.decide("fr", True, audio, deaf) == langdetect.Detected("fr", 1.0)
    assert langdetect.decide(None, False, audio, deaf) == langdetect.Detected("en", 1.0)


def test_windows_spread_over_the_speech():
    speech = ((10.0, 100.0), (200.0, 300.0), (1000.0, 1110.0))  # 300 s of speech
    chosen = langdetect.windows(speech)
    assert [round(vad.total(w), 6) for w in chosen] == [30.0] * 5
    assert [w[0][0] for w in chosen] == [10.0, 77.5, 245.0, 1012.5, 1080.0]  # every 67.5 s of speech
    assert chosen[1] == ((77.5, 100.0), (200.0, 207.5))  # a window joins the pieces it spans
    few = langdetect.windows(((5.0, 20.0), (40.0, 75.0)))  # 50 s: all of it, 30 s at a time
    assert few == [((5.0, 20.0), (40.0, 55.0)), ((55.0, 75.0),)]
    assert langdetect.windows(()) == []


def test_combine_weights_windows_by_their_speech():
    heard = [({"en": 0.6, "de": 0.4}, 30.0), ({"en": 0.1, "de": 0.9}, 5.0)]
    language, probability = langdetect.combine(heard)
    assert language == "en" and probability == pytest.approx((0.6 * 30 + 0.1 * 5) / 35)
