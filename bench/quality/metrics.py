"""What the benchmark measures on one transcription, whichever path produced it.

WER normalisation (reported with the results): lower-case; hyphens and every
punctuation mark become spaces, apostrophes inside words stay; numbers are compared as
written (the references hold none, so digits in a transcript count as errors).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import jiwer

from ingest.models import Cue
from ingest.settings import CueSettings
from ingest.subtitles import standards

# A word counts as "over non-speech" only when its midpoint lies this far inside the
# stretch: word timestamps at the edge of speech may be off by a few hundred ms.
EDGE_SECONDS = 0.5


@dataclass(frozen=True)
class Outcome:
    """One transcription of one file: words with times, language, cues, time taken."""

    text: str
    words: tuple[tuple[float, float, str], ...]
    language: str
    seconds: float
    cues: tuple[Cue, ...] | None = None  # None: this path writes no cues
    duration: float | None = None


def normalize(text: str) -> str:
    text = re.sub(r"[^\w\s']|_", " ", text.lower())
    return " ".join(w.strip("'") for w in text.split() if w.strip("'"))


def wer(reference: str, hypothesis: str) -> float:
    ref, hyp = normalize(reference), normalize(hypothesis)
    return 1.0 if not hyp else float(jiwer.wer(ref, hyp))


def errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit errors, reference words): to pool WER over several files."""
    ref = normalize(reference)
    return round(wer(reference, hypothesis) * len(ref.split())), len(ref.split())


def words_over(words: Sequence[tuple[float, float, str]], spans: Sequence[tuple[float, float]]) -> int:
    """Words whose midpoint lies inside a non-speech span (by more than ``EDGE_SECONDS``)."""
    count = 0
    for start, end, _ in words:
        mid = (start + end) / 2
        count += any(a + EDGE_SECONDS <= mid <= b - EDGE_SECONDS for a, b in spans)
    return count


def cues_within(cues: Sequence[Cue], duration: float | None, settings: CueSettings | None = None) -> float | None:
    """Share of cues that break none of the standards; None when there are no cues."""
    if not cues:
        return None
    found = standards.violations(cues, settings or CueSettings(), duration)
    bad = {int(m.group(1)) for line in found if (m := re.match(r"cue (\d+) ", line))}
    return 1 - len(bad) / len(cues)
