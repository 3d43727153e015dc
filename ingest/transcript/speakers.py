"""Who said each word: speaker turns laid over a transcript, and the names they show.

Pure: a transcript and turns in, a new transcript out. Each word takes the speaker
whose turns cover most of it; segments are split where the speaker changes, so that
every segment (and every cue built from its words) has one speaker.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import accumulate, groupby

from ingest.models import Segment, SpeakerTurn, Transcript, Word

_EPS = 1e-9  # overlaps this close count as a tie
# What subtitle renderers take for markup wherever it stands: SRT and WebVTT tags (<b>,
# <v ...>), ASS override blocks ({\an8} moves an SRT cue in ffmpeg and libass; {Bob} hides
# the name) and ASS escapes (\N). Replaced by look-alikes that every subtitle font has.
_MARKUP = str.maketrans({"<": "\u2039", ">": "\u203a", "{": "(", "}": ")", "\\": "/"})


@dataclass(frozen=True)
class _Timeline:
    """Turns sorted by start. ``latest[k]`` indexes the turn that ends last among the
    first k + 1, so a word only looks at the turns that can reach it."""

    turns: tuple[SpeakerTurn, ...]
    starts: tuple[float, ...]
    latest: tuple[int, ...]

    @classmethod
    def of(cls, turns: Sequence[SpeakerTurn]) -> _Timeline:
        ordered = tuple(sorted(turns, key=lambda t: (t.start, t.end)))
        latest: Iterator[int] = accumulate(
            range(len(ordered)), lambda a, b: b if ordered[b].end > ordered[a].end else a
        )
        return cls(ordered, tuple(t.start for t in ordered), tuple(latest))

    def speaker(self, start: float, end: float) -> str:
        """The speaker overlapping [start, end] most; on a tie or no overlap, the nearest turn."""
        near = list(self._overlapping(start, end))
        overlap: dict[str, float] = {}
        for turn in near:
            overlap[turn.speaker] = overlap.get(turn.speaker, 0.0) + min(end, turn.end) - max(start, turn.start)
        best = max(overlap.values(), default=0.0)
        leaders = [s for s, v in overlap.items() if v >= best - _EPS] if best > _EPS else []
        if len(leaders) == 1:
            return leaders[0]
        middle = (start + end) / 2
        candidates = [t for t in near if t.speaker in leaders] if leaders else self._neighbours(middle)
        return min(candidates, key=lambda t: max(t.start - middle, middle - t.end, 0.0)).speaker

    def _overlapping(self, start: float, end: float) -> Iterator[SpeakerTurn]:
        k = bisect_left(self.starts, end) - 1
        while k >= 0 and self.turns[self.latest[k]].end > start:
            if self.turns[k].end > start:
                yield self.turns[k]
            k -= 1

    def _neighbours(self, time: float) -> list[SpeakerTurn]:
        """The turn reaching furthest among those started by ``time``, and the next to start."""
        k = bisect_right(self.starts, time) - 1
        before = [self.turns[self.latest[k]]] if k >= 0 else []
        return before + list(self.turns[k + 1 : k + 2])


def assign(transcript: Transcript, turns: Sequence[SpeakerTurn], names: Sequence[str] = ()) -> Transcript:
    """Label every word and segment with its speaker, splitting segments where it changes.

    Labels are renamed in order of first appearance: the first to speak becomes
    ``names[0]``, and so on; speakers beyond ``names`` (or all, without names), and
    those given a blank name, become "Speaker N", N counting in the same order.
    Diarizers number speakers arbitrarily (pyannote's SPEAKER_03 may speak first), and
    "SPEAKER_00" reads badly in a player, so "Speaker 1" is always whoever speaks
    first. A segment without words is placed as one word would be. Without turns the
    transcript is returned unchanged.
    """
    if not turns:
        return transcript
    timeline = _Timeline.of(turns)
    labelled = [_label(seg, timeline) for seg in transcript.segments]
    renames = _renames(_first_appearances(labelled), names)
    segments = tuple(piece for seg in labelled for piece in _split(_rename(seg, renames)))
    return replace(transcript, segments=segments)


def label(name: str) -> str:
    """``name`` as a subtitle shows it (SRT ``Name:``, WebVTT ``<v Name>``): no character a
    renderer reads as markup. JSON, text and Podcasting 2.0 keep the name as given."""
    return name.translate(_MARKUP)


def order(transcript: Transcript) -> tuple[str, ...]:
    """The speakers of ``transcript`` in order of first appearance; () when it has none."""
    return _first_appearances(transcript.segments)


def _label(seg: Segment, timeline: _Timeline) -> Segment:
    if not seg.words:
        return replace(seg, speaker=timeline.speaker(seg.start, seg.end))
    words = tuple(replace(w, speaker=timeline.speaker(w.start, w.end)) for w in seg.words)
    return replace(seg, words=words)


def _first_appearances(segments: Iterable[Segment]) -> tuple[str, ...]:
    labels = (w.speaker for seg in segments for w in (seg.words or (seg,)))
    return tuple(dict.fromkeys(label for label in labels if label is not None))


def _renames(labels: Sequence[str], names: Sequence[str]) -> dict[str, str]:
    given = [" ".join(name.split()) for name in names]
    return {label: given[n] if n < len(given) and given[n] else f"Speaker {n + 1}" for n, label in enumerate(labels)}


def _rename(seg: Segment, renames: dict[str, str]) -> Segment:
    if not seg.words:
        return replace(seg, speaker=renames.get(seg.speaker or "", seg.speaker))
    return replace(seg, words=tuple(replace(w, speaker=renames.get(w.speaker or "", w.speaker)) for w in seg.words))


def _split(seg: Segment) -> tuple[Segment, ...]:
    """One segment per run of words with the same speaker; text and times from the words."""
    if not seg.words:
        return (seg,)
    runs = [tuple(run) for _, run in groupby(seg.words, key=lambda w: w.speaker)]
    if len(runs) == 1:
        return (replace(seg, speaker=runs[0][0].speaker),)
    return tuple(_piece(seg, run) for run in runs)


def _piece(seg: Segment, words: tuple[Word, ...]) -> Segment:
    text = "".join(w.text for w in words)
    return replace(seg, start=words[0].start, end=words[-1].end, text=text, words=words, speaker=words[0].speaker)
