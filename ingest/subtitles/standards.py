"""The subtitle standards as a check: what a list of cues breaks (line length and count,
reading speed, duration, overlaps and empty cues; the rules in ``ingest.subtitles.cues``).

Used by the tests, the benchmarks and the JSON writer's counts; ``cues`` builds cues
that keep these standards.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ingest.models import Cue
from ingest.settings import CueSettings

_EPS = 1e-6  # cue times are whole milliseconds; allow float noise only


def violations(cues: Sequence[Cue], settings: CueSettings, total_duration: float | None = None) -> list[str]:
    """Every subtitle standard that ``cues`` break, one line of text each; [] when none.

    Checks line length and count, emptiness, duration, reading speed, overlaps, and
    (when ``total_duration`` is given) that cues stay within the media.
    """
    found: list[str] = []
    for n, cue in enumerate(cues):
        following = cues[n + 1] if n + 1 < len(cues) else None
        problems = _problems(cue, following, settings, total_duration)
        found += [f"cue {n + 1} ({cue.start:.3f}-{cue.end:.3f} s): {p}" for p in problems]
    return found


def _problems(cue: Cue, following: Cue | None, s: CueSettings, total: float | None) -> Iterator[str]:
    if not cue.text.strip():
        yield "is empty"
    if len(cue.lines) > s.max_lines:
        yield f"has {len(cue.lines)} lines (at most {s.max_lines})"
    for n, line in enumerate(cue.lines, 1):
        if len(line) > s.max_line_chars:
            yield f"line {n} has {len(line)} characters (at most {s.max_line_chars})"
    length = cue.end - cue.start
    if length < s.min_duration - _EPS:
        yield f"lasts {length:.3f} s (at least {s.min_duration} s)"
    if length > s.max_duration + _EPS:
        yield f"lasts {length:.3f} s (at most {s.max_duration} s)"
    if length > 0 and len(cue.text) > s.max_cps * length + _EPS:
        yield f"reads at {len(cue.text) / length:.1f} characters/s (at most {s.max_cps})"
    if cue.start < -_EPS:
        yield "starts before the media"
    if total is not None and cue.end > total + _EPS:
        yield f"ends after the media ({total:.3f} s)"
    if following is not None and cue.end > following.start + _EPS:
        yield f"overlaps the next cue by {cue.end - following.start:.3f} s"
