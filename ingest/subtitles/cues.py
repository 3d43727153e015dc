"""Subtitle cues from word timestamps: line length and count, reading speed,
durations and gaps. The standards, as broadcasters keep them (the defaults of ``[cues]``):
at most 42 characters a line and 2 lines a cue, at most 20 characters a second, cues
between 0.83 s and 7 s, no overlaps, no empty cues.

Pure: words and settings in, frozen cues out. Words are first cut into runs that no
cue may cross (a change of speaker, a pause longer than ``pause_split``); each run is
split into cues by dynamic programming over break points; then cues are timed, in
whole milliseconds so that a cue checked here still passes once SRT or WebVTT round it.
Line layout (punctuation, fitting, ``wrap``) lives in ``ingest.cuelines``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ingest.models import Cue, Word
from ingest.settings import CueSettings
from ingest.subtitles.lines import PLAIN, SENTENCE, ending, fits, wrap

__all__ = ["build_cues", "wrap"]  # wrap is re-exported: writers import it from here

# Costs of a split, in units of "one more cue"; _partition minimises their sum.
_BREAK_AFTER = (1.0, 0.4, 0.0)  # ending a cue after a plain word, a clause, a sentence
_SENTENCES_JOINED = 3.0  # per sentence end inside a cue: splitting there is preferred...
_TOO_SHORT = 20.0  # ...unless that leaves a cue too short to read, which costs far more
_TOO_FAST = 20.0
_EPS = 1e-6


@dataclass(frozen=True)
class _Unit:
    """A word as cues see it: stripped text, whole-millisecond times."""

    start: int
    end: int
    text: str
    speaker: str | None
    kind: int  # the punctuation that ends it: PLAIN, CLAUSE or SENTENCE (cuelines)


@dataclass
class _Draft:
    """A cue while it is being timed; mutable only inside ``build_cues``."""

    units: list[_Unit]
    start: int
    end: int

    @property
    def text(self) -> str:
        return " ".join(u.text for u in self.units)


@dataclass(frozen=True)
class _Limits:
    """``CueSettings`` in milliseconds, plus where the media ends (inf when unknown)."""

    chars: int
    lines: int
    cps: float
    min_ms: int
    max_ms: int
    pause_ms: int
    total: float

    @classmethod
    def of(cls, s: CueSettings, total: float | None) -> _Limits:
        end = math.inf if total is None else math.floor(total * 1000 + _EPS)
        return cls(
            s.max_line_chars,
            s.max_lines,
            s.max_cps,
            _ms_up(s.min_duration),
            math.floor(s.max_duration * 1000 + _EPS),
            round(s.pause_split * 1000),
            end,
        )

    def needed(self, chars: int) -> int:
        """The shortest display that keeps both the minimum duration and the reading speed."""
        return min(self.max_ms, max(self.min_ms, _ms_up(chars / self.cps)))


def build_cues(words: Sequence[Word], settings: CueSettings, total_duration: float | None = None) -> tuple[Cue, ...]:
    """Group timed words into wrapped, timed subtitle cues.

    Every word's text appears once, in order. Cues split at sentence ends and prefer
    clause punctuation; a pause longer than ``settings.pause_split`` or a change of
    speaker always starts a new cue. Where speech is too fast for the standards no
    word is dropped: ``violations`` reports the cues that break them.
    """
    lim = _Limits.of(settings, total_duration)
    runs = _runs(_units(words, lim), lim)
    drafts: list[_Draft] = []
    for n, run in enumerate(runs):
        after = runs[n + 1][0].start if n + 1 < len(runs) else lim.total
        drafts.extend(_Draft(cue, cue[0].start, cue[-1].end) for cue in _partition(run, after, lim))
    _time(drafts, lim)
    return tuple(
        Cue(d.start / 1000, d.end / 1000, wrap(d.text, lim.chars, lim.lines) or (d.text,), d.units[0].speaker)
        for d in drafts
    )


def _ms_up(seconds: float) -> int:
    return math.ceil(seconds * 1000 - _EPS)


def _units(words: Sequence[Word], lim: _Limits) -> list[_Unit]:
    """Stripped, time-ordered words; engines do emit overlapping or out-of-range times."""
    units: list[_Unit] = []
    prev_end = 0
    for word in words:
        text = " ".join(word.text.split())
        if not text:
            continue  # nothing to read, so nothing to show
        start = min(lim.total, max(prev_end, round(word.start * 1000)))
        end = min(lim.total, max(start, round(word.end * 1000)))
        units.extend(_pieces(int(start), int(end), text, word.speaker, lim.chars))
        prev_end = int(end)
    return units


def _pieces(start: int, end: int, text: str, speaker: str | None, width: int) -> list[_Unit]:
    """A word wider than a line (a URL, a run-together name) is hard-split here, as a last
    resort, into line-wide pieces timed in proportion to their length."""
    if len(text) <= width:
        return [_Unit(start, end, text, speaker, ending(text))]
    chunks = [text[i : i + width] for i in range(0, len(text), width)]
    times = [start + (end - start) * i * width // len(text) for i in range(len(chunks))]
    times.append(end)
    last = len(chunks) - 1
    return [
        _Unit(times[i], times[i + 1], chunk, speaker, ending(chunk) if i == last else PLAIN)
        for i, chunk in enumerate(chunks)
    ]


def _runs(units: list[_Unit], lim: _Limits) -> list[list[_Unit]]:
    """Cut where no cue may cross: a change of speaker or a pause longer than pause_split."""
    runs: list[list[_Unit]] = []
    for unit in units:
        prev = runs[-1][-1] if runs else None
        if prev is None or unit.speaker != prev.speaker or unit.start - prev.end > lim.pause_ms:
            runs.append([unit])
        else:
            runs[-1].append(unit)
    return runs


def _partition(run: list[_Unit], after: float, lim: _Limits) -> list[list[_Unit]]:
    """Split one run into the cheapest sequence of cues that fit the line limits."""
    best = [0.0] + [math.inf] * len(run)
    back = [0] * (len(run) + 1)
    for j in range(1, len(run) + 1):
        for i in _starts(run, j, lim):
            cost = best[i] + _cue_cost(run, i, j, after, lim)
            if cost < best[j]:
                best[j], back[j] = cost, i
    cuts, j = [], len(run)
    while j:
        cuts.append((back[j], j))
        j = back[j]
    return [run[i:j] for i, j in reversed(cuts)]


def _starts(run: list[_Unit], j: int, lim: _Limits) -> Iterator[int]:
    """First words i for which run[i:j] fits as one cue; a single word always does."""
    yield j - 1
    for i in range(j - 2, -1, -1):
        cue = run[i:j]
        too_long = cue[-1].end - cue[0].start > lim.max_ms
        if too_long or not fits([len(u.text) for u in cue], lim.chars, lim.lines):
            return  # adding words never helps, so stop at the first that fails
        yield i


def _cue_cost(run: list[_Unit], i: int, j: int, after: float, lim: _Limits) -> float:
    cue = run[i:j]
    chars = sum(len(u.text) for u in cue) + len(cue) - 1
    # A cue may grow into the silence after it, up to where the next word starts.
    following = run[j].start if j < len(run) else after
    room = min(lim.max_ms, following - cue[0].start)
    cost = 1.0 + (1 - chars / (lim.chars * lim.lines)) ** 2  # evenly filled cues read best
    cost += _BREAK_AFTER[cue[-1].kind] if j < len(run) else 0.0
    cost += _SENTENCES_JOINED * sum(u.kind == SENTENCE for u in cue[:-1])
    if room < lim.min_ms:
        cost += _TOO_SHORT * (2 - room / lim.min_ms)
    speed = chars * 1000 / max(room, 1)
    if speed > lim.cps:  # capped: words with no duration at all must not swamp the rest
        cost += _TOO_FAST * min(speed / lim.cps, 3.0)
    return cost


def _time(drafts: list[_Draft], lim: _Limits) -> None:
    """Give every cue enough time: silence after it, then before it, then a merge with a
    neighbour, then time borrowed from a neighbour with some to spare."""
    k = 0
    while k < len(drafts):
        _extend(drafts, k, lim)
        merged = _merge(drafts, k, lim) if _deficit(drafts[k], lim) > 0 else None
        if merged is not None:
            k = merged  # time the merged cue afresh
            continue
        if _deficit(drafts[k], lim) > 0:
            _borrow(drafts, k, lim)
        k += 1


def _deficit(draft: _Draft, lim: _Limits) -> int:
    return lim.needed(len(draft.text)) - (draft.end - draft.start)


def _extend(drafts: list[_Draft], k: int, lim: _Limits) -> None:
    d = drafts[k]
    need = lim.needed(len(d.text))
    d.end = min(d.end, d.start + lim.max_ms)  # only a single word can last that long
    after = drafts[k + 1].start if k + 1 < len(drafts) else lim.total
    d.end = int(max(d.end, min(after, d.start + need)))
    before = drafts[k - 1].end if k else 0
    d.start = min(d.start, max(before, d.end - need))


def _merge(drafts: list[_Draft], k: int, lim: _Limits) -> int | None:
    """Join drafts[k] with the closer neighbour that makes one cue within every limit."""
    options = [
        (drafts[a + 1].units[0].start - drafts[a].units[-1].end, a)
        for a in (k - 1, k)
        if 0 <= a < len(drafts) - 1 and _can_merge(drafts, a, lim)
    ]
    if not options:
        return None
    a = min(options)[1]
    second = drafts.pop(a + 1)
    drafts[a] = _Draft(drafts[a].units + second.units, drafts[a].start, second.end)
    return a


def _can_merge(drafts: list[_Draft], a: int, lim: _Limits) -> bool:
    first, second = drafts[a], drafts[a + 1]
    units = first.units + second.units
    if first.units[0].speaker != second.units[0].speaker:
        return False
    if units[-1].end - units[0].start > lim.max_ms or not fits([len(u.text) for u in units], lim.chars, lim.lines):
        return False
    before = drafts[a - 1].end if a else 0
    after = drafts[a + 2].start if a + 2 < len(drafts) else lim.total
    return lim.needed(len(first.text) + 1 + len(second.text)) <= after - before


def _borrow(drafts: list[_Draft], k: int, lim: _Limits) -> None:
    """Take time from touching neighbours, never more than each can spare: a neighbour
    may shift into the silence on its far side to keep its own minimum."""
    d = drafts[k]
    if k and drafts[k - 1].end == d.start:
        prev, floor = drafts[k - 1], drafts[k - 2].end if k > 1 else 0
        need = lim.needed(len(prev.text))
        give = max(0, min(_deficit(d, lim), prev.end - floor - need))
        prev.end -= give
        prev.start = min(prev.start, max(floor, prev.end - need))
        d.start -= give
    if k + 1 < len(drafts) and drafts[k + 1].start == d.end:
        nxt = drafts[k + 1]
        after = drafts[k + 2].start if k + 2 < len(drafts) else lim.total
        spare = min(after - nxt.start - lim.needed(len(nxt.text)), nxt.end - nxt.start)
        give = int(max(0, min(_deficit(d, lim), spare)))
        nxt.start += give
        d.end += give
