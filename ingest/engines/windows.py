"""Transcription in bounded windows: a long file is cut, in silence, into pieces an engine
decodes one after another, so memory follows the window, not the file.

Both engines compute the log-mel features of the whole array they are given at once, with
STFT intermediates many times the size of the samples (faster-whisper: about 15 times, see
``WINDOW_SECONDS``), so memory grew with the file's length. Here each window gets its own
samples (a writable copy of its slice of the file, which ``ingest.media.extract`` keeps
memory-mapped) and its speech regions in window time; the engine's segments come back
shifted by the window's start. Only one window's samples exist at a time.

Cuts fall between the VAD's speech regions, never inside one, except that a region longer
than a window is first split into equal parts by ``vad.clips``: Whisper decodes 30 s at a
time anyway, and such a cut risks one word per window. Without speech regions (VAD off) the
windows are of fixed length. A file no longer than one window is one window at offset 0:
its transcript is the same as when the engine was given the whole file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from ingest.media import vad
from ingest.models import Audio, Regions, Segment

# 10 minutes. faster-whisper's feature extraction peaks at about 59 MiB a minute of audio
# (STFT frames, complex128 spectrum, magnitudes: 587 MiB for 10 minutes, 1175 MiB for 20,
# measured with tracemalloc), so this bounds it near what faster-whisper float32 base needs
# anyway (bench/longfile.py: 647 MiB at the peak against 3302 for an hour in one piece); the
# samples copied are 37 MiB. Cuts stay rare (six an hour), and each only restarts the
# engine's context (the previous text it conditions on), as a new file does.
WINDOW_SECONDS = 10 * 60.0

Gap = tuple[float, float]


@dataclass(frozen=True)
class Window:
    """One piece of a file: where it starts in the file, and its own audio in window time."""

    start: float  # seconds into the file of this window's first sample
    audio: Audio

    @property
    def end(self) -> float:
        return self.start + self.audio.duration


def transcribe(
    audio: Audio, decode: Callable[[Window], Sequence[Segment]], length: float = WINDOW_SECONDS
) -> tuple[Segment, ...]:
    """``decode`` each window of ``audio`` in turn; its segments in the file's own times.

    Each window is made inside ``_one`` and dropped when it returns, so the next copy is
    made only after the previous one is gone. Windows without speech are not decoded.
    """
    found: list[Segment] = []
    for start, end in spans(audio, length):
        found += _one(audio, start, end, decode)
    return tuple(found)


def _one(audio: Audio, start: float, end: float, decode: Callable[[Window], Sequence[Segment]]) -> list[Segment]:
    if audio.speech is not None and vad.overlap(audio.speech, start, end) <= 0:
        return []  # only silence here: nothing copied, nothing decoded
    window = cut(audio, start, end)
    if window.audio.speech == () or not len(window.audio.samples):
        return []
    return shift(decode(window), window.start)


def spans(audio: Audio, length: float = WINDOW_SECONDS) -> list[tuple[float, float]]:
    """(start, end) seconds of each window, covering the file, none longer than ``length``."""
    duration = audio.duration
    if duration <= length:
        return [(0.0, duration)]
    if audio.speech is None:
        edges = [n * float(length) for n in range(int(np.ceil(duration / length)))]
    else:
        edges = _edges(_gaps(audio.speech, duration, length), duration, length)
    return list(zip(edges, [*edges[1:], duration], strict=True))


def _gaps(speech: Regions, duration: float, length: float) -> list[Gap]:
    """The stretches between speech, where a cut may fall; regions longer than a window are
    split first (their parts abut, so the gap between two parts is a single point)."""
    parts = [p for r in speech for p in (vad.clips((r,), length) if r[1] - r[0] > length else (r,))]
    bounds = [0.0, *(t for part in parts for t in part), duration]
    return list(zip(bounds[::2], bounds[1::2], strict=True))


def _edges(gaps: list[Gap], duration: float, length: float) -> list[float]:
    edges = [0.0]
    while duration - edges[-1] > length:
        edges.append(_cut(gaps, edges[-1], length))
    return edges


def _cut(gaps: list[Gap], start: float, length: float) -> float:
    """The farthest place to cut within ``length`` of ``start``: the middle of the last gap in
    reach (so the engine's feature frames at a window's edge see silence), held within reach.
    The gap ``start`` lies in is always in reach, so there is one; a window may then hold only
    silence (a long pause), and is skipped."""
    reach = start + length
    for lo, hi in reversed(gaps):
        low, high = max(lo, start), min(hi, reach)
        if low <= high and high > start:
            middle = min(max((lo + hi) / 2, low), high)
            return middle if middle > start else high
    raise AssertionError(f"no gap within reach of {start}")  # unreachable: see the docstring


def cut(audio: Audio, start: float, end: float) -> Window:
    """The window from ``start`` to ``end`` seconds: a copy of its samples (writable, bounded),
    its speech regions clipped to it and in its own time. Cuts fall on whole samples."""
    rate = audio.sample_rate
    first, last = round(start * rate), min(round(end * rate), len(audio.samples))
    samples = np.array(audio.samples[first:last], dtype=np.float32)  # a copy, never a view of the file
    whole = first == 0 and last == len(audio.samples)  # the very same regions, not clipped ones
    speech = audio.speech if whole else _within(audio.speech, first / rate, last / rate)
    pauses = audio.pauses if whole else _within(audio.pauses, first / rate, last / rate)
    return Window(first / rate, replace(audio, samples=samples, speech=speech, pauses=pauses))


def _within(speech: Regions | None, start: float, end: float) -> Regions | None:
    """The regions' parts between ``start`` and ``end``, shifted to begin at 0 there."""
    if speech is None:
        return None
    kept = [(max(s, start), min(e, end)) for s, e in speech if e > start and s < end]
    return tuple((s - start, e - start) for s, e in kept if e > s)


def shift(segments: Sequence[Segment], offset: float) -> list[Segment]:
    """``segments`` (and their words) moved ``offset`` seconds later."""
    if offset == 0:
        return list(segments)
    return [
        replace(
            s,
            start=s.start + offset,
            end=s.end + offset,
            words=tuple(replace(w, start=w.start + offset, end=w.end + offset) for w in s.words),
        )
        for s in segments
    ]
