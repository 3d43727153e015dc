"""Cue text layout: what punctuation ends a word, whether words fit in a cue's lines, and
where to break a cue's text into lines (at most 42 characters a line, 2 lines a cue, by
default; ``[cues]`` settings).

Pure and time-free; ``ingest.subtitles.cues`` uses it to choose cue boundaries and to wrap the
cues it builds, and hands ``wrap`` on to the writers.
"""

from __future__ import annotations

import math
from itertools import combinations

PLAIN, CLAUSE, SENTENCE = 0, 1, 2
# Escaped because they look like ASCII: the ellipsis, CJK and full-width marks, dashes.
_SENTENCE_MARKS = frozenset(".?!\u2026\u3002\uff1f\uff01")
_CLAUSE_MARKS = frozenset(",;:\u2014\u2013\u3001\uff0c\uff1b\uff1a")
_CLOSERS = "\"')]}\u00bb\u201d\u2019"
# A full stop after these is not the end of a sentence.
_ABBREVIATIONS = frozenset({"mr.", "mrs.", "ms.", "dr.", "st.", "vs.", "prof.", "jr.", "sr.", "e.g.", "i.e."})

# Costs of a line break, in characters of imbalance a break is worth trading.
_LINE_BREAK_AFTER = (15, 3, 0)


def ending(token: str) -> int:
    """The punctuation that ends ``token``: PLAIN, CLAUSE or SENTENCE."""
    bare = token.rstrip(_CLOSERS)
    if not bare:
        return PLAIN
    if bare[-1] in _SENTENCE_MARKS:
        initial = len(bare) == 2 and bare[0].isupper() and bare[0] != "I"  # "J. R. R. Tolkien"
        return PLAIN if initial or bare.lower() in _ABBREVIATIONS else SENTENCE
    return CLAUSE if bare[-1] in _CLAUSE_MARKS else PLAIN


def fits(lengths: list[int], width: int, lines: int) -> bool:
    """Whether words of these lengths fit in ``lines`` lines (greedy filling is exact)."""
    count, used = 1, -1
    for n in lengths:
        if used + 1 + n > width:
            count, used = count + 1, n
        else:
            used += 1 + n
    return count <= lines and max(lengths) <= width


def wrap(text: str, max_chars: int, max_lines: int) -> tuple[str, ...] | None:
    """Break ``text`` into at most ``max_lines`` lines of at most ``max_chars`` characters.

    One line when it fits; otherwise the fewest lines that fit, with the breaks that
    balance line lengths best, preferring a break after punctuation. A word longer than
    a line is hard-split only as a last resort. Returns None when the text cannot fit,
    and an empty tuple for blank text.
    """
    words = text.split()
    if not words:
        return ()
    total = sum(map(len, words)) + len(words) - 1
    if total <= max_chars:
        return (" ".join(words),)
    if total > max_lines * (max_chars + 1) - 1:
        return None
    words = [w[i : i + max_chars] for w in words for i in range(0, len(w), max_chars)]
    for count in range(2, max_lines + 1):
        lines = _best_lines(words, count, max_chars)
        if lines is not None:
            return lines
    return None


def _best_lines(words: list[str], count: int, width: int) -> tuple[str, ...] | None:
    best: tuple[str, ...] | None = None
    best_cost = math.inf
    for cuts in combinations(range(1, len(words)), count - 1):
        bounds = zip((0, *cuts), (*cuts, len(words)), strict=True)
        lines = tuple(" ".join(words[a:b]) for a, b in bounds)
        lengths = [len(line) for line in lines]
        if max(lengths) > width:
            continue
        cost: float = max(lengths) - min(lengths)
        cost += sum(_LINE_BREAK_AFTER[ending(words[c - 1])] for c in cuts)
        cost += 0.5 * (lengths[0] > lengths[-1])  # on a tie, a shorter top line reads easier
        if cost < best_cost:
            best, best_cost = lines, cost
    return best
