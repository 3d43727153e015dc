"""SubRip (``.srt``) subtitles: numbered cues, ``HH:MM:SS,mmm`` times.

SRT has no markup for voices, so a speaker is named the way podcast SRT files do
(as Podcasting 2.0 SRT captions do): ``Name:`` before the text of the first cue of each turn,
a turn being the consecutive cues of one speaker. The label is shown text, so it
counts toward the line length and line count (``[cues]`` settings) like any word:

- the cue is re-wrapped with the label as its first word, never broken inside it;
- a cue already too full for it is cut in two at a word boundary, the time shared in
  proportion to the characters, so both halves keep the limits. Leaving the label out
  would make the cue read as the previous speaker's; a longer or third line would
  break the standards; putting ``Name:`` alone on a line costs the same room.

The label is the name with what renderers take for markup replaced (``speakers.label``):
SRT has no escapes, and ffmpeg, libass and most players act on ``<b>`` and ``{\\an8}`` in it.

The label also needs reading time: a labelled cue takes it from the silence after it,
then before it. Where speech leaves none, the label is read in the cue's own time.

``[plugins.srt] profile``: ``auto`` (the default) writes the podcast profile, lines of at
most 32 characters as the Podcasting 2.0 guidance asks of SRT, for a job whose watch
names a feed, and the ``[cues]`` limits for the rest; ``podcast`` or ``broadcast`` for
every job (``ingest.profiles``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ingest import Cue, CueSettings, Job, Settings, Transcript, hookimpl, outputs, profiles, speakers, wrap

NAME = "srt"
FORMAT = "srt"


class SrtSettings(BaseModel):
    """``[plugins.srt]``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    profile: profiles.Profile = "auto"  # podcast: 32-character lines; auto: podcast for watches with a feed


# The configured subtitle limits and plugin settings, read at startup; the defaults until then.
_limits = CueSettings()
_settings = SrtSettings()


def render(cues: Sequence[Cue], limits: CueSettings | None = None) -> str:
    """The SRT text of ``cues``; cues with speakers get a ``Name:`` label per turn."""
    shown = _labelled(cues, limits or CueSettings()) if any(c.speaker for c in cues) else cues
    blocks = [
        f"{n}\n{outputs.clock(c.start, ',')} --> {outputs.clock(c.end, ',')}\n" + "\n".join(c.lines)
        for n, c in enumerate(shown, start=1)
    ]
    return "\n\n".join(blocks) + "\n" if blocks else ""


def _labelled(cues: Sequence[Cue], lim: CueSettings) -> list[Cue]:
    shown: list[Cue] = []
    for n, cue in enumerate(cues):
        if not cue.speaker or (n and cues[n - 1].speaker == cue.speaker):
            shown.append(cue)
            continue
        # The silence around the cue; the last one never grows: where the media ends is not known here.
        room = (shown[-1].end if shown else 0.0, cues[n + 1].start if n + 1 < len(cues) else cue.end)
        shown.extend(_label(cue, _label_text(cue.speaker, lim.max_line_chars), room, lim))
    return shown


def _label_text(speaker: str, width: int) -> str:
    # speakers.assign already made the name one line; label() takes out what renderers read as tags
    return speakers.label(speaker)[: width - 1] + ":"


def _label(cue: Cue, label: str, room: tuple[float, float], lim: CueSettings) -> list[Cue]:
    lines = _with_label(label, cue.text, lim)
    if lines is not None:
        return [_stretch(replace(cue, lines=lines), room, lim)]
    return _split(cue, label, lim)


def _with_label(label: str, text: str, lim: CueSettings) -> tuple[str, ...] | None:
    """``text`` wrapped with ``label`` as its first word, never broken inside the label."""
    stand_in = "x" * (len(label) - 1) + ":"  # one unbreakable word as long as the label
    lines = wrap(f"{stand_in} {text}", lim.max_line_chars, lim.max_lines)
    return None if lines is None else (label + lines[0][len(label) :], *lines[1:])


def _stretch(cue: Cue, room: tuple[float, float], lim: CueSettings) -> Cue:
    """Give the label its reading time from the silence after the cue, then before it."""
    seconds = min(lim.max_duration, max(lim.min_duration, len(cue.text) / lim.max_cps))
    needed = math.ceil(seconds * 1000 - 1e-6) / 1000  # whole milliseconds, as SRT writes them
    end = max(cue.end, min(room[1], cue.start + needed))
    start = min(cue.start, max(room[0], end - needed))
    return replace(cue, start=round(start, 3), end=round(end, 3))


def _split(cue: Cue, label: str, lim: CueSettings) -> list[Cue]:
    """Cut a cue too full for its label in two, the labelled half as long as fits and
    the halves as even as can be."""
    words = cue.text.split()
    best: tuple[int, int, tuple[str, ...]] | None = None
    for k in range(len(words)):
        head = _with_label(label, " ".join(words[:k]), lim)
        if head is None:
            break  # more words never fit better
        imbalance = abs(len(" ".join(head)) - len(" ".join(words[k:])))
        if best is None or imbalance < best[0]:
            best = (imbalance, k, head)
    assert best is not None  # the label alone always fits a line
    _, k, head = best
    tail = wrap(" ".join(words[k:]), lim.max_line_chars, lim.max_lines) or (" ".join(words[k:]),)
    share = len(" ".join(head)) / (len(" ".join(head)) + len(" ".join(tail)))
    cut = round((cue.start + (cue.end - cue.start) * share) * 1000) / 1000
    return [replace(cue, end=cut, lines=head), replace(cue, start=cut, lines=tail)]


@hookimpl
def ingest_formats() -> list[str]:
    return [FORMAT]


@hookimpl
def ingest_plugin_settings() -> tuple[str, type[BaseModel]]:
    return NAME, SrtSettings


@hookimpl
def ingest_startup(settings: Settings, plugin_config: dict[str, BaseModel]) -> None:
    global _limits, _settings
    _limits = settings.cues
    config = plugin_config.get(NAME)
    _settings = config if isinstance(config, SrtSettings) else SrtSettings()


@hookimpl
def ingest_write_outputs(job: Job, transcript: Transcript) -> list[Path]:
    limits = profiles.limits(FORMAT, _settings.profile, job, _limits)
    return outputs.write_sidecar(
        job, transcript, FORMAT, lambda: render(profiles.cues(transcript, _limits, limits), limits)
    )
