"""Text Whisper writes over voices that say nothing: babble, reversed or foreign-sounding
speech, singing. Two filters, each a pure function of segments (``hallucination`` runs them).

Measured (bench/quality's voice-like beds, ``base`` int8, filters off, BENCHMARKS.md
"Voice-like non-speech"): over such beds the VAD hears speech and the engine is sure enough of
the window (no-speech probability 0.2-0.65, log-probability -0.6 to -1.1: the same values real
speech under noise gets, since both are one per 30-s decode), so the no-speech rule cannot
tell them apart. What does is how much the engine believes each word: the mean word
probability of a segment over those beds was 0.16-0.51, over real speech (clean, music and
pink noise down to 5 dB, telephone) 0.54-0.95. Sung vowels are the exception: the engine
writes them as sure interjections ("Ah, ah, ah", words at 0.79), which only their shape gives
away.
"""

from __future__ import annotations

from collections.abc import Callable

from ingest.models import Segment

Segments = tuple[Segment, ...]

# What Whisper writes for sung or held vowels and scat; it leaves such sounds out of speech.
_SUNG = "ah aah ahh oh ohh ooh oo uh eh ee ay ye la na da do doo dum di dee ba bah mm mmm ha hah woo whoa wo"
VOCABLES = frozenset(_SUNG.split())


def unsure(segments: Segments, least: float) -> Segments:
    """Drop segments whose words the engine believes less than ``least`` on average."""
    return tuple(s for s in segments if not s.words or mean_probability(s) >= least)


def mean_probability(seg: Segment) -> float:
    """How much the engine believes a segment's words, on average (0 without words)."""
    return sum(w.probability for w in seg.words) / len(seg.words) if seg.words else 0.0


def vocables(segments: Segments, least: int, normalize: Callable[[str], str]) -> Segments:
    """Drop segments made only of ``VOCABLES`` said at least ``least`` times ("ah, ah, ah");
    ``normalize``: the text as the other filters compare it (hyphens split: "woo-woo")."""

    def sung(seg: Segment) -> bool:
        tokens = normalize(seg.text.replace("-", " ")).split()
        return len(tokens) >= least and all(t in VOCABLES for t in tokens)

    return tuple(s for s in segments if not sung(s))
