"""Which language is spoken, judged from speech spread across the file.

Whisper judges from the first 30 s of the file, which in films and podcasts is often
theme music, a cold open or silence. Here up to ``WINDOWS`` windows of up to
``WINDOW_SECONDS`` of speech (the VAD regions, joined) are taken at even steps through
the file's speech; the engine gives language probabilities for each, and their mean,
weighted by the seconds of speech in each window, decides. A forced language wins, and
an English-only model can only answer "en".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import structlog

from ingest.media import vad
from ingest.models import Audio, Regions

log = structlog.get_logger(__name__)

WINDOWS = 5
WINDOW_SECONDS = 30.0

# Language probabilities of one window of 16 kHz samples: {"en": 0.91, "de": 0.03, ...}.
Probe = Callable[[np.ndarray], dict[str, float]]


@dataclass(frozen=True)
class Detected:
    language: str
    probability: float
    windows: int = 0  # how many windows were heard; 0 when forced or English-only


def windows(speech: Regions, count: int = WINDOWS, length: float = WINDOW_SECONDS) -> list[Regions]:
    """Up to ``count`` windows of up to ``length`` seconds of speech, spread evenly over it.

    Each window is the pieces of the regions it covers, in the file's own times.
    """
    heard = vad.total(speech)
    if heard <= 0:
        return []
    if heard <= count * length:  # little speech: hear all of it, window after window
        starts = [n * length for n in range(int(np.ceil(heard / length)))]
    else:
        starts = [n * (heard - length) / (count - 1) for n in range(count)] if count > 1 else [0.0]
    return [_slice(speech, start, start + length) for start in starts]


def _slice(speech: Regions, begin: float, end: float) -> Regions:
    """The part of the joined speech between ``begin`` and ``end`` seconds of speech."""
    pieces: list[tuple[float, float]] = []
    offset = 0.0
    for start, stop in speech:
        length = stop - start
        lo, hi = max(begin - offset, 0.0), min(end - offset, length)
        if hi > lo:
            pieces.append((start + lo, start + hi))
        offset += length
    return tuple(pieces)


def samples(audio: Audio, window: Regions) -> np.ndarray:
    rate = audio.sample_rate
    data = audio.samples
    return np.concatenate([data[int(s * rate) : int(e * rate)] for s, e in window])


def combine(heard: Sequence[tuple[dict[str, float], float]]) -> tuple[str, float]:
    """The language with the highest mean probability, each window weighted by its seconds."""
    weight = sum(seconds for _, seconds in heard)
    means: dict[str, float] = {}
    for probs, seconds in heard:
        for language, p in probs.items():
            means[language] = means.get(language, 0.0) + p * seconds / weight
    best = max(means, key=means.__getitem__)
    return best, means[best]


def detect(audio: Audio, probe: Probe) -> Detected:
    """The spoken language of ``audio``, judged by ``probe`` on windows of its speech."""
    speech = audio.speech if audio.speech is not None else ((0.0, audio.duration),)
    chosen = windows(speech) or [((0.0, min(audio.duration, WINDOW_SECONDS)),)]
    heard = [(probe(samples(audio, w)), vad.total(w)) for w in chosen]
    language, probability = combine(heard)
    log.debug(
        "language_detected",
        language=language,
        probability=round(probability, 3),
        windows=[[round(w[0][0], 1), round(w[-1][1], 1)] for w in chosen],
        per_window=[max(p, key=p.__getitem__) for p, _ in heard],
    )
    return Detected(language, probability, len(chosen))


def decide(forced: str | None, multilingual: bool, audio: Audio, probe: Probe) -> Detected:
    """A forced language wins; an English-only model hears English; else ``detect``."""
    if forced:
        return Detected(forced, 1.0)
    if not multilingual:
        return Detected("en", 1.0)
    return detect(audio, probe)
