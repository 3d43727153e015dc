"""ingest.windows: long files decoded in bounded windows cut in silence, on real speech with
the real engines (tiny.en) and a short ``window`` so a two-minute file spans several."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest
from ingest_plugins import faster_whisper as fw
from ingest_plugins import openai_whisper as ow

from ingest.engines import checkpoints, device, weights, windows
from ingest.engines.modelcache import CACHE
from ingest.media import extract, probe, vad
from ingest.models import Audio, AudioTrack, Segment, Transcript, Word
from ingest.settings import AudioSettings, SpeechSettings
from ingest.testing import make_job
from tests.support import mediafactory as mf
from tests.support.wer import JFK, wer

TRACK = AudioTrack(0, "pcm", 1, "mono", None, True)
RATE = 16_000
WINDOW = 30.0  # seconds: the 110-s file below spans four or five windows
# Plain sentences tiny.en hears espeak-ng say word-perfect, alone.
SENTENCES = (
    "Thank you very much for your help with the garden.",
    "Please close the door when you leave the room.",
    "We will meet again next week at the same time.",
)
# (what is said, seconds of silence before it): JFK three times and three espeak-ng sentences.
SCRIPT = ((JFK, 4), (SENTENCES[0], 9), (JFK, 12), (SENTENCES[1], 10), (SENTENCES[2], 14), (JFK, 8))
TAIL = 6  # seconds of silence at the end


@dataclass(frozen=True)
class Said:
    text: str
    start: float
    end: float


@dataclass(frozen=True)
class LongFile:
    path: Path
    said: tuple[Said, ...]

    @property
    def reference(self) -> str:
        return " ".join(s.text for s in self.said)


def audio_of(seconds: float, speech: tuple[tuple[float, float], ...] | None) -> Audio:
    return Audio(np.zeros(round(seconds * RATE), np.float32), RATE, TRACK, speech)


@pytest.fixture(scope="module")
def long_file(tmp_path_factory, shared_media) -> LongFile:
    """Speech clips between silences, each clip's place in the file known to the sample."""
    d = tmp_path_factory.mktemp("windows")
    parts, said, at = [], [], 0.0
    for n, (text, pause) in enumerate(SCRIPT):
        speech = shared_media / "jfk.flac" if text == JFK else mf.speech_wav(d / f"s{n}.wav", text)
        parts += [mf.silence_wav(d / f"p{n}.wav", pause), speech]
        seconds = len(mf.pcm16k(speech)) / RATE
        said.append(Said(text, at + pause, at + pause + seconds))
        at += pause + seconds
    parts.append(mf.silence_wav(d / "tail.wav", TAIL))
    return LongFile(mf.joined(d / "long.wav", parts), tuple(said))


@pytest.fixture(scope="module")
def long_audio(long_file) -> Audio:
    """As the pipeline makes it: extracted by ffmpeg (memory-mapped), then VAD."""
    media = probe.probe(long_file.path)
    return vad.detect(extract.extract(media, media.audio_tracks[0], AudioSettings()), SpeechSettings())


def inside(span: tuple[float, float], region: tuple[float, float]) -> bool:
    return span[0] <= region[0] and region[1] <= span[1]


def assert_never_cut(spans: list[tuple[float, float]], speech: tuple[tuple[float, float], ...], length: float):
    """The spans tile the file, none is longer than ``length``, and every region no longer
    than a window lies wholly inside one span."""
    assert all(b - a <= length + 1e-9 for a, b in spans), spans
    assert all(spans[n][1] == spans[n + 1][0] for n in range(len(spans) - 1)), spans
    for region in speech:
        if region[1] - region[0] <= length:
            assert any(inside(span, region) for span in spans), (region, spans)


def test_cuts_fall_between_regions_never_inside_one():
    rng = np.random.default_rng(15)
    for _ in range(300):
        edges = np.cumsum(rng.exponential(rng.choice([3.0, 20.0, 60.0]), size=2 * rng.integers(1, 40)))
        speech = tuple((round(a, 3), round(b, 3)) for a, b in zip(edges[::2], edges[1::2], strict=True))
        audio = audio_of(float(edges[-1] + rng.uniform(0, 30)), speech)
        length = float(rng.choice([30.0, 45.0, 120.0]))
        spans = windows.spans(audio, length)
        assert spans[0][0] == 0 and spans[-1][1] == audio.duration
        assert_never_cut(spans, speech, length)


def test_a_region_longer_than_a_window_is_cut_into_equal_parts():
    spans = windows.spans(audio_of(100, ((0.0, 100.0),)), 30.0)
    assert spans == [(0.0, 25.0), (25.0, 50.0), (50.0, 75.0), (75.0, 100.0)]  # vad.clips' parts


def test_without_speech_regions_windows_are_of_fixed_length():
    assert windows.spans(audio_of(100, None), 30.0) == [(0.0, 30.0), (30.0, 60.0), (60.0, 90.0), (90.0, 100.0)]


def test_a_short_file_is_one_window_with_the_very_same_regions(long_audio):
    spans = windows.spans(long_audio, windows.WINDOW_SECONDS)
    assert spans == [(0.0, long_audio.duration)]
    window = windows.cut(long_audio, *spans[0])
    assert window.start == 0 and window.audio.speech is long_audio.speech
    assert np.array_equal(window.audio.samples, long_audio.samples)


def test_each_window_owns_a_writable_copy_and_its_regions_in_its_own_time(long_audio):
    assert isinstance(long_audio.samples, np.memmap) and not long_audio.samples.flags.writeable
    spans = windows.spans(long_audio, WINDOW)
    assert len(spans) >= 4
    assert_never_cut(spans, long_audio.speech, WINDOW)
    for start, end in spans:
        window = windows.cut(long_audio, start, end)
        samples = window.audio.samples
        assert type(samples) is np.ndarray and samples.flags.writeable
        assert not np.shares_memory(samples, long_audio.samples)
        assert window.start == pytest.approx(start, abs=1 / RATE) and window.end == pytest.approx(end, abs=1 / RATE)
        first = round(window.start * RATE)
        assert np.array_equal(samples, long_audio.samples[first : first + len(samples)])
        back = [t + window.start for region in window.audio.speech for t in region]
        expected = [t for region in long_audio.speech if start <= region[0] < end for t in region]
        assert back == pytest.approx(expected, abs=1e-6)


def test_shift_moves_segments_and_words():
    seg = Segment(1.0, 2.0, " Hi there", (Word(1.0, 1.4, " Hi"), Word(1.5, 2.0, " there")))
    [moved] = windows.shift([seg], 60.0)
    assert (moved.start, moved.end, moved.text) == (61.0, 62.0, " Hi there")
    assert [(w.start, w.end) for w in moved.words] == [(61.0, 61.4), (61.5, 62.0)]
    assert windows.shift([seg], 0.0) == [seg]


def fw_transcribe(audio: Audio, window: float, progress=None) -> Transcript:
    job = replace(make_job(Path("long.wav"), model="tiny.en", device="cpu"), progress=progress)
    ref, plan = weights.resolve("tiny.en", job.options.models_dir), device.plan("cpu")
    return fw.transcribe(job, audio, ref, plan, plan, window=window)


def ow_transcribe(audio: Audio, window: float) -> Transcript:
    job = make_job(Path("long.wav"), engine=ow.NAME, model="tiny.en", device="cpu")
    ref, plan = checkpoints.resolve("tiny.en", job.options.models_dir), device.plan("cpu")
    return ow.transcribe(job, audio, ref, plan, window=window)


def assert_words_where_the_speech_is(transcript: Transcript, long_file: LongFile):
    """Every word lies in the clip it was said in, and every clip reads as it was said."""
    for said in long_file.said:
        words = [w for w in transcript.words if said.start - 0.5 <= w.start and w.end <= said.end + 0.5]
        assert wer(said.text, "".join(w.text for w in words)) <= 0.15, (said, words)
    placed = sum(1 for w in transcript.words if any(s.start - 0.5 <= w.start <= s.end + 0.5 for s in long_file.said))
    assert placed == len(transcript.words)


def assert_same_reading(windowed: Transcript, whole: Transcript, long_file: LongFile):
    assert wer(long_file.reference, windowed.text) <= wer(long_file.reference, whole.text) + 0.01
    assert windowed.duration == whole.duration


@pytest.mark.slow
def test_faster_whisper_in_windows_puts_words_where_they_were_said(long_audio, long_file):
    seen: list[tuple[float, float]] = []
    windowed = fw_transcribe(long_audio, WINDOW, progress=lambda done, total: seen.append((done, total)))
    whole = fw_transcribe(long_audio, windows.WINDOW_SECONDS)
    assert_words_where_the_speech_is(windowed, long_file)
    assert_same_reading(windowed, whole, long_file)
    assert [w.start for w in windowed.words] == sorted(w.start for w in windowed.words)
    # Progress in the whole file's seconds, past the first window, ending at the last segment.
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and seen[-1][0] > 2 * WINDOW
    assert {t for _, t in seen} == {long_audio.duration}
    assert seen[-1][0] == pytest.approx(windowed.segments[-1].end)


@pytest.mark.slow
def test_openai_whisper_in_windows_puts_words_where_they_were_said(long_audio, long_file):
    windowed = ow_transcribe(long_audio, WINDOW)
    assert_words_where_the_speech_is(windowed, long_file)
    assert_same_reading(windowed, ow_transcribe(long_audio, windows.WINDOW_SECONDS), long_file)


def test_a_short_file_reads_exactly_as_the_whole_array_given_to_the_engine(shared_media):
    """One window at offset 0: the same segments, words and times as the engine gives when
    handed the whole (memory-mapped) file, as ingest did before windows."""
    media = probe.probe(shared_media / "jfk.flac")
    audio = vad.detect(extract.extract(media, media.audio_tracks[0], AudioSettings()), SpeechSettings())
    ours = fw_transcribe(audio, windows.WINDOW_SECONDS)
    ref, plan = weights.resolve("tiny.en", make_job(Path("x")).options.models_dir), device.plan("cpu")
    key = (fw.NAME, ref.location, "cpu", 0, "int8", 0)
    with CACHE.use(key, lambda: fw.load(ref, plan, "int8", 0)) as model:
        clips = [t for region in audio.speech for t in region]
        common = dict(language="en", beam_size=5, word_timestamps=True, clip_timestamps=clips)
        segments, _ = model.transcribe(np.array(audio.samples), **common)
        theirs = [(s.start, s.end, s.text, [(w.start, w.end, w.word) for w in s.words]) for s in segments]
    assert [(s.start, s.end, s.text, [(w.start, w.end, w.text) for w in s.words]) for s in ours.segments] == theirs
