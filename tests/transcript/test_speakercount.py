"""The speaker-count estimate on embeddings with a known number of voices.

The embeddings are made here: unit vectors scattered around one random direction per
voice, as the GE2E encoder places one speaker's windows. The end-to-end counts on real
speech (espeak-ng dialogues, pyannote's sample, the JFK clip) are in
``tests/plugins/test_pyannote.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from ingest.transcript import speakercount

DIMENSION = 256


def voices(*sizes: int, spread: float = 0.06, seed: int = 0) -> np.ndarray:
    """``sizes[k]`` embeddings for voice k, interleaved as turns would be; ``spread`` is the
    noise per dimension around each voice's direction (0.06 puts a voice's windows about
    0.5 apart in cosine distance, two voices about 1)."""
    rng = np.random.default_rng(seed)
    rows = []
    for size in sizes:
        centre = rng.normal(size=DIMENSION)
        centre /= np.linalg.norm(centre)
        rows.append(centre + rng.normal(scale=spread, size=(size, DIMENSION)))
    mixed = np.concatenate(rows)[rng.permutation(sum(sizes))]
    return mixed / np.linalg.norm(mixed, axis=1, keepdims=True)


@pytest.mark.parametrize(
    "sizes", [(120,), (60, 60), (30, 50, 70), (40, 40, 40, 40)], ids=["one", "two", "three", "four"]
)
def test_counts_the_voices(sizes: tuple[int, ...]):
    assert speakercount.estimate(voices(*sizes)) == len(sizes)


def test_a_voice_heard_less_than_the_others_still_counts():
    assert speakercount.estimate(voices(100, 20)) == 2


def test_too_few_embeddings_leave_the_count_to_the_fixed_cut():
    assert speakercount.estimate(voices(20, 20)) is None
    assert speakercount.estimate(voices(25, 25)) == 2  # MIN_EMBEDDINGS exactly


def test_hints_bound_the_estimate():
    assert speakercount.estimate(voices(40, 40, 40), max_speakers=2) == 2
    assert speakercount.estimate(voices(120), min_speakers=2) == 2
    assert speakercount.estimate(voices(40, 40, 40), min_speakers=1, max_speakers=5) == 3


def test_a_long_file_is_thinned_not_refused():
    many = voices(900, 700, 400)
    assert len(many) > speakercount.MAX_EMBEDDINGS
    assert speakercount.estimate(many) == 3


def test_the_same_embeddings_give_the_same_count():
    rows = voices(50, 30, 40, seed=3)
    assert len({speakercount.estimate(rows.copy()) for _ in range(3)}) == 1
