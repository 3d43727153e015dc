"""Segment times that hold their words: the span from the first word's start to the last
word's end.

Engines time a segment and its words apart (the decoder's timestamp tokens and the
alignment of each word; when only the speech was decoded, the two are mapped back to the
file's time each on its own), so a segment may end before its last word does: a JSON
segment ending at 18.0 s whose last word ends at 18.18 s, a Podcasting 2.0 ``endTime`` that
cuts the last word short. After the engine, every segment with words is given its words'
span, the bounds the hallucination filters already give a segment they trim. A segment
without words keeps the engine's times.
"""

from __future__ import annotations

from dataclasses import replace

from ingest.models import Segment, Transcript


def fit(transcript: Transcript) -> Transcript:
    """``transcript`` with each segment's start and end those of its words."""
    segments = tuple(_fit(seg) for seg in transcript.segments)
    return transcript if segments == transcript.segments else replace(transcript, segments=segments)


def _fit(seg: Segment) -> Segment:
    if not seg.words:
        return seg
    start = min(w.start for w in seg.words)
    end = max(max(w.end for w in seg.words), start)
    return seg if (start, end) == (seg.start, seg.end) else replace(seg, start=start, end=end)
