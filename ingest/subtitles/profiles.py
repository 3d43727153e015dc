"""Subtitle profiles: the line limits that one way of publishing asks of one format.

``broadcast`` is ``[cues]`` as configured (42 characters a line, 2 lines a cue, by
default). ``podcast`` follows the Podcasting 2.0 transcript guidance for files served
with ``<podcast:transcript>``: SRT at most 32 characters a line and 2 lines a cue
(podcast apps show SRT captions in a narrow box), WebVTT lines at most 65 characters.
Either only ever narrows ``[cues]``. ``auto``, the writers' default, is ``podcast`` for a
job whose watch names a feed and ``broadcast`` for the rest.

A writer whose profile is narrower than ``[cues]`` builds its own cues from the
transcript's words (``cues.build_cues``): the JSON output keeps the pipeline's cues.
"""

from __future__ import annotations

from typing import Literal

from ingest.models import Cue, Job, Transcript
from ingest.settings import CueSettings
from ingest.subtitles.cues import build_cues

Profile = Literal["auto", "broadcast", "podcast"]
# (characters a line, lines a cue) for each format; None: the configured count.
PODCAST: dict[str, tuple[int, int | None]] = {"srt": (32, 2), "vtt": (65, None)}


def limits(fmt: str, profile: Profile, job: Job, settings: CueSettings) -> CueSettings:
    """The cue limits of format ``fmt`` for ``job`` under ``profile``."""
    podcast = profile == "podcast" or (profile == "auto" and job.options.feed is not None)
    if not podcast or fmt not in PODCAST:
        return settings
    chars, lines = PODCAST[fmt]
    narrowed = {"max_line_chars": min(settings.max_line_chars, chars)}
    if lines is not None:
        narrowed["max_lines"] = min(settings.max_lines, lines)
    return settings.model_copy(update=narrowed)


def cues(transcript: Transcript, settings: CueSettings, wanted: CueSettings) -> tuple[Cue, ...]:
    """The cues of ``transcript`` (built under ``settings``) as ``wanted`` limits them."""
    if wanted == settings or not transcript.words:
        return transcript.cues
    return build_cues(transcript.words, wanted, transcript.duration)
