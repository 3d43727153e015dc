"""Segment bounds fitted to their words, and the pipeline stage that applies it."""

from __future__ import annotations

import numpy as np
from ingest_plugins import podcast

from ingest import pipeline
from ingest.models import Audio, AudioTrack, Segment, Transcript, Word
from ingest.testing import settings
from ingest.transcript import bounds


def transcript(*segments: Segment) -> Transcript:
    return Transcript("en", 0.9, 30.0, segments, "e", "m")


# As faster-whisper gave it after VAD: the segment ends at 18.0, its last word at 18.18.
LATE_WORD = Segment(
    15.0,
    18.0,
    " We choose to go.",
    (Word(15.2, 16.0, " We"), Word(16.0, 17.1, " choose"), Word(17.1, 17.5, " to"), Word(17.5, 18.18, " go.")),
)


def test_a_segment_spans_its_words():
    fitted = bounds.fit(transcript(LATE_WORD)).segments[0]
    assert (fitted.start, fitted.end) == (15.2, 18.18)
    assert (fitted.text, fitted.words) == (LATE_WORD.text, LATE_WORD.words)


def test_words_out_of_order_and_segments_without_words():
    odd = Segment(1.0, 2.0, " a b", (Word(1.5, 2.5, " a"), Word(0.8, 1.2, " b")))
    bare = Segment(4.0, 5.0, " no words", ())
    same = Segment(6.0, 7.0, " fine", (Word(6.0, 7.0, " fine"),))
    fitted = bounds.fit(transcript(odd, bare, same)).segments
    assert [(s.start, s.end) for s in fitted] == [(0.8, 2.5), (4.0, 5.0), (6.0, 7.0)]
    untouched = transcript(same)
    assert bounds.fit(untouched) is untouched


def test_screen_fits_bounds_so_every_output_contains_its_words():
    samples = np.zeros(16000 * 30, dtype=np.float32)
    audio = Audio(samples, 16000, AudioTrack(0, "flac", 1, "mono", "en", True), speech=((14.0, 19.0),))
    kept = pipeline.screen(transcript(LATE_WORD), audio, settings())
    for seg in kept.segments:
        assert seg.start <= min(w.start for w in seg.words) and seg.end >= max(w.end for w in seg.words)
    [segment] = podcast.document(kept)["segments"]
    assert segment["endTime"] == 18.18
