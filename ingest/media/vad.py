"""Where the speech is: Silero VAD over the 16 kHz samples, as merged and padded regions.

The model is the Silero v6 ONNX file that faster-whisper ships (``faster_whisper.vad``),
so both engines are gated by the same regions and nothing is downloaded.

Why our own loop over the model rather than ``faster_whisper.vad.get_speech_timestamps``:
that function runs the model over the whole file with one recurrent state. Measured on
20 s of synthetic music and 15 s of digital silence followed by the JFK clip, the
carried state left the model nearly deaf to the first words (peak probability 0.35 on
"And so my fellow Americans", so they were lost); restarting the state every 10 s, the
same words scored 0.87 and were kept, at the same cost (0.24 s for 97 s of audio on one
core). Speech itself starts a fresh state without harm: the JFK clip alone scores 0.9 in
its first second.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import numpy as np
import structlog

from ingest.models import Audio, Regions
from ingest.settings import SpeechSettings

log = structlog.get_logger(__name__)

FRAME = 512  # samples per model step: 32 ms at 16 kHz
STATE_FRAMES = 312  # restart the recurrent state about every 10 s (see the module docstring)
HYSTERESIS = 0.15  # a region, once started, lasts while the probability stays above threshold - this
PAUSE_FRAMES = 4  # 128 ms below threshold inside a region: a breath between phrases, a place to cut


def _model() -> Any:
    from faster_whisper.vad import get_vad_model  # cached by faster-whisper: loaded once per process

    return get_vad_model()


def probabilities(samples: np.ndarray) -> np.ndarray:
    """Speech probability per 32 ms frame of 16 kHz ``samples``.

    One piece of ``STATE_FRAMES`` frames is copied at a time (``_piece``): the model writes
    into its input, ``samples`` may be a read-only memory map of a long file, and a padded
    copy of all of it would be 230 MB an hour of memory that cannot be paged out.
    """
    if len(samples) == 0:
        return np.zeros(0, np.float32)
    step = FRAME * STATE_FRAMES
    model = _model()
    return np.concatenate([model(_piece(samples, i, step)).reshape(-1) for i in range(0, len(samples), step)])


def _piece(samples: np.ndarray, start: int, length: int) -> np.ndarray:
    """A writable float32 copy of ``samples[start:start + length]``, zero-padded to whole frames."""
    piece = np.asarray(samples[start : start + length], np.float32)
    return np.pad(piece, (0, -len(piece) % FRAME))  # np.pad always returns a new array


def regions(probs: np.ndarray, settings: SpeechSettings, duration: float, frame_seconds: float) -> Regions:
    """Speech regions from frame probabilities: hysteresis, then drop, merge, pad."""
    runs = [(s * frame_seconds, e * frame_seconds) for s, e in _runs(probs, settings.threshold)]
    runs = [(s, min(e, duration)) for s, e in runs if e - s >= settings.min_speech]
    merged = _edges(_merge(runs, settings.min_silence), settings.min_silence, duration)
    padded = [(max(0.0, s - settings.pad), min(duration, e + settings.pad)) for s, e in merged]
    return tuple((round(s, 3), round(e, 3)) for s, e in _merge(padded, 0.0))


def _runs(probs: np.ndarray, threshold: float) -> Iterator[tuple[int, int]]:
    """Frame ranges that rise to ``threshold`` and last until they fall below it minus HYSTERESIS."""
    low = max(threshold - HYSTERESIS, 0.01)
    start = None
    for n, p in enumerate(probs):
        if start is None and p >= threshold:
            start = n
        elif start is not None and p < low:
            yield start, n
            start = None
    if start is not None:
        yield start, len(probs)


def _merge(spans: list[tuple[float, float]], gap: float) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in spans:
        if merged and start - merged[-1][1] <= gap:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _edges(spans: list[tuple[float, float]], gap: float, duration: float) -> list[tuple[float, float]]:
    """Reach the file's start and end across less than ``gap`` of non-speech, as a pause that
    short inside the file is bridged. Measured on JFK under music at 5 dB: the onset scored
    0.3 until 1.2 s, so the clip began after "And"; at 10 dB a clip ending 0.17 s before the
    file's end changed a word mid-sentence. Either way the engine then hears what it would
    hear without gating."""
    if spans and spans[0][0] <= gap:
        spans[0] = (0.0, spans[0][1])
    if spans and duration - spans[-1][1] <= gap:
        spans[-1] = (spans[-1][0], duration)
    return spans


def detect(audio: Audio, settings: SpeechSettings) -> Audio:
    """``audio`` with its speech regions; unchanged (``speech=None``) when VAD is off."""
    if not settings.vad:
        return audio
    probs = probabilities(audio.samples)
    frame = FRAME / audio.sample_rate
    speech = regions(probs, settings, audio.duration, frame)
    log.debug("speech_found", regions=len(speech), speech_seconds=round(total(speech), 2))
    return replace(audio, speech=speech, pauses=pauses(probs, speech, settings.threshold, frame))


def total(speech: Regions) -> float:
    return sum(end - start for start, end in speech)


def overlap(speech: Regions, start: float, end: float) -> float:
    """Seconds of [start, end] that lie inside the regions."""
    k = max(bisect_right(speech, start, key=_start) - 1, 0)
    seconds = 0.0
    for s, e in speech[k:]:
        if s >= end:
            break
        seconds += max(0.0, min(e, end) - max(s, start))
    return seconds


def _start(region: tuple[float, float]) -> float:
    return region[0]


def contains(speech: Regions, time: float) -> bool:
    k = bisect_right(speech, time, key=_start) - 1
    return k >= 0 and time <= speech[k][1]


def clips(speech: Regions, longest: float, pauses: Regions = ()) -> Regions:
    """The regions cut into clips no longer than ``longest`` (faster-whisper's batched
    pipeline hears only the first 30 s of a clip): at the longest pause in the second half
    of each reach, so a cut falls between phrases; where no pause is in reach (or none were
    looked for), into equal parts."""
    parts: list[tuple[float, float]] = []
    for start, end in speech:
        inside = [p for p in pauses if start < p[0] and p[1] < end]
        parts += _split(start, end, longest, inside)
    return tuple(parts)


def _split(start: float, end: float, longest: float, pauses: list[tuple[float, float]]) -> list[tuple[float, float]]:
    parts: list[tuple[float, float]] = []
    while end - start > longest:
        cut = _pause_in(pauses, start + longest / 2, start + longest)
        if cut is None:  # no breath in reach: the rest in equal parts, as before pauses were known
            break
        parts.append((start, cut))
        start = cut
    count = max(1, int(np.ceil((end - start) / longest)))
    step = (end - start) / count
    return parts + [(start + n * step, start + (n + 1) * step) for n in range(count)]


def _pause_in(pauses: list[tuple[float, float]], low: float, high: float) -> float | None:
    """The middle of the last pause in [low, high] that is nearly the longest there (4/5 of it):
    a sentence's end before a breath, and clips as long as they may be (fewer to decode)."""
    reach = [(e - s, round((s + e) / 2, 3)) for s, e in pauses if low <= (s + e) / 2 <= high]
    if not reach:
        return None
    longest = max(length for length, _ in reach)
    return max(middle for length, middle in reach if length >= 0.8 * longest)


def pauses(probs: np.ndarray, speech: Regions, threshold: float, frame_seconds: float) -> Regions:
    """Runs of at least ``PAUSE_FRAMES`` frames below ``threshold`` inside the speech regions:
    the breaths a long region can be cut at (the regions themselves bridge pauses shorter
    than ``min_silence``, so a talk is often one region)."""
    below = np.concatenate(([False], probs < threshold, [False]))
    edges = np.flatnonzero(np.diff(below.astype(np.int8)))
    runs = [(s * frame_seconds, e * frame_seconds) for s, e in zip(edges[::2], edges[1::2], strict=True)]
    kept = [(s, e) for s, e in runs if e - s >= PAUSE_FRAMES * frame_seconds and contains(speech, (s + e) / 2)]
    return tuple((round(s, 3), round(e, 3)) for s, e in kept)
