"""Speech regions from the real Silero model on real speech between music, noise and silence."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from ingest.media import vad
from ingest.models import Audio, AudioTrack
from ingest.settings import SpeechSettings
from tests.support import mediafactory as mf

TRACK = AudioTrack(0, "pcm", 1, "mono", None, True)
# JFK speaks from about 0.3 s to 10.6 s of its 11 s clip.
FIRST, SECOND = (35.3, 45.6), (71.3, 81.6)


@pytest.fixture(scope="module")
def long_night(tmp_path_factory, shared_media) -> Path:
    """20 s music, 15 s digital silence, JFK (35-46 s), 10 s pink noise, 15 s silence,
    JFK again (71-82 s), 15 s silence: 97 s."""
    d = tmp_path_factory.mktemp("vad")
    jfk, silence = shared_media / "jfk.flac", mf.silence_wav(d / "s.wav", 15)
    parts = [mf.music_wav(d / "m.wav", 20), silence, jfk, mf.noise_wav(d / "n.wav", 10), silence, jfk, silence]
    return mf.joined(d / "night.wav", parts)


def audio_of(samples: np.ndarray) -> Audio:
    return Audio(samples, 16000, TRACK)


def test_regions_hold_all_the_speech_and_no_music_noise_or_silence(long_night):
    found = vad.detect(audio_of(mf.pcm16k(long_night)), SpeechSettings()).speech
    assert len(found) == 2, found
    for (start, end), (said_from, said_to) in zip(found, (FIRST, SECOND), strict=True):
        assert said_from - 1.0 < start <= said_from and said_to <= end < said_to + 1.0, found


def test_state_restarts_so_speech_after_a_long_silence_is_heard(long_night):
    """Why ingest runs the model in 10 s pieces: in one pass, the state carried through
    35 s of music and silence leaves it deaf to "And so my fellow Americans"."""
    samples = mf.pcm16k(long_night)
    padded = np.pad(samples, (0, -len(samples) % vad.FRAME))
    one_pass = vad._model()(padded).reshape(-1)
    ours = vad.probabilities(samples)
    words = slice(int(35.3 * 16000 / vad.FRAME), int(37.5 * 16000 / vad.FRAME))
    assert ours[words].max() > 0.8 > 0.5 > one_pass[words].max()


def test_music_noise_and_silence_alone_are_no_speech(tmp_path):
    parts = [
        mf.music_wav(tmp_path / "m.wav", 10),
        mf.noise_wav(tmp_path / "n.wav", 5),
        mf.silence_wav(tmp_path / "s.wav", 5),
    ]
    samples = mf.pcm16k(mf.joined(tmp_path / "none.wav", parts))
    assert vad.detect(audio_of(samples), SpeechSettings()).speech == ()


def test_a_minute_takes_a_fraction_of_a_second(shared_media):
    minute = np.tile(mf.pcm16k(shared_media / "jfk.flac"), 6)[: 60 * 16000]
    vad.probabilities(minute[:16000])  # the model loads once per process
    start = time.perf_counter()
    vad.detect(audio_of(minute), SpeechSettings())
    assert time.perf_counter() - start < 1.0  # measured 0.15 s on one shared core


def test_a_read_only_map_gives_the_probabilities_of_one_padded_copy(long_night, tmp_path):
    """Pieces are copied one at a time, so a memory-mapped file (read-only, as
    ``extract`` makes it) is never copied whole; the numbers are those of the whole padded
    copy the model was once given, piece after piece."""
    samples = mf.pcm16k(long_night)
    (tmp_path / "night.f32").write_bytes(samples.tobytes())
    mapped = np.memmap(tmp_path / "night.f32", dtype=np.float32, mode="r")
    padded = np.pad(samples, (0, -len(samples) % vad.FRAME))
    step = vad.FRAME * vad.STATE_FRAMES
    whole = np.concatenate([vad._model()(padded[i : i + step]).reshape(-1) for i in range(0, len(padded), step)])
    assert np.array_equal(vad.probabilities(mapped), whole)
    assert np.array_equal(mapped, samples)  # the model writes into its input: never into ours


def test_vad_off_leaves_the_audio_alone():
    audio = audio_of(np.zeros(16000, np.float32))
    assert vad.detect(audio, SpeechSettings(vad=False)) is audio


def test_regions_from_probabilities():
    """Hysteresis (start at 0.5, hold above 0.35; set here, the default is lower), short bursts dropped, short pauses
    merged, padding clamped to the file; frames of 0.1 s keep the arithmetic plain."""
    probs = np.array([0.9, 0.4, 0.6, 0.2, 0.0, 0.0, 0.0, 0.0, 0.7, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.9, 0.9, 0.9, 0.3])
    s = SpeechSettings(threshold=0.5, min_speech=0.2, min_silence=0.5, pad=0.2)
    assert vad.regions(probs, s, 1.85, 0.1) == ((0.0, 0.5), (1.3, 1.85))  # the burst at 0.8 s is dropped
    merged = SpeechSettings(threshold=0.5, min_speech=0.0, min_silence=0.5, pad=0.0)
    assert vad.regions(probs, merged, 2.5, 0.1) == ((0.0, 0.9), (1.5, 1.8))


def test_regions_reach_the_file_edges_across_a_short_gap():
    """Less non-speech than ``min_silence`` before the first or after the last region is
    bridged like a pause inside the file: the engine hears the file's first and last words."""
    probs = np.array([0.0] * 5 + [0.9] * 10 + [0.0] * 5)  # speech 0.5-1.5 s of 2.0 s
    s = SpeechSettings(threshold=0.5, min_speech=0.0, min_silence=0.5, pad=0.0)
    assert vad.regions(probs, s, 2.0, 0.1) == ((0.0, 2.0),)
    assert vad.regions(probs, s.model_copy(update={"min_silence": 0.4}), 2.0, 0.1) == ((0.5, 1.5),)


def test_region_arithmetic():
    speech = ((1.0, 2.0), (5.0, 8.0))
    assert [vad.contains(speech, t) for t in (0.5, 1.0, 1.5, 3.0, 8.0, 9.0)] == [False, True, True, False, True, False]
    assert vad.overlap(speech, 1.5, 6.0) == pytest.approx(1.5)
    assert vad.total(speech) == pytest.approx(4.0)
    cut = vad.clips(((0.0, 70.0), (80.0, 90.0)), 30.0)
    assert [t for c in cut for t in c] == pytest.approx([0, 70 / 3, 70 / 3, 140 / 3, 140 / 3, 70, 80, 90])


def test_long_regions_are_cut_at_breaths_in_reach():
    # a 70-s region with breaths at 12 s, 27-27.7 s (the longest, near the reach), 40 s and 55 s
    pauses = ((11.9, 12.1), (27.0, 27.7), (39.9, 40.5), (54.8, 55.4))
    cut = vad.clips(((0.0, 70.0),), 30.0, pauses)
    assert [round(t, 2) for c in cut for t in c] == [0.0, 27.35, 27.35, 55.1, 55.1, 70.0]
    assert all(e - s <= 30.0 for s, e in cut)


def test_no_breath_in_reach_falls_back_to_equal_parts():
    cut = vad.clips(((0.0, 70.0),), 30.0, ((3.0, 3.5),))  # the only pause is too early to help
    assert [t for c in cut for t in c] == pytest.approx([0, 70 / 3, 70 / 3, 140 / 3, 140 / 3, 70])


def test_pauses_are_short_quiet_runs_inside_speech():
    probs = np.array([0.9] * 10 + [0.1] * 5 + [0.9] * 10 + [0.1] * 2 + [0.9] * 10 + [0.0] * 20)
    found = vad.pauses(probs, ((0.0, 1.2),), 0.5, 0.032)
    assert found == ((0.32, 0.48),)  # the 2-frame dip is too short, the trailing silence is outside
