"""Plain text: the transcript as paragraphs.

Without speakers, a new paragraph starts after a long pause. With speakers, each
turn (consecutive segments of one speaker) is one paragraph, opened by the time it
starts and who speaks: ``[00:01:02] Name: text``, the way a show's transcript reads.

The name. Beside video it is ``<stem>.<lang>.txt`` like every other sidecar. Beside
audio it is ``<stem>-transcript.<lang>.txt`` (``ep42-transcript.en.txt``), because
Jellyfin would show ``ep42.en.txt`` as the episode's lyrics. Jellyfin's rule (its
``LyricResolver`` and ``ExternalPathParser``, with ``NamingOptions.LyricFileExtensions``):
for an audio item, a file in the same folder (or the item's metadata folder) is a lyric
file when its ending is ``.lrc``, ``.elrc`` or ``.txt`` (case-insensitive) and its name
without that ending is the audio's name without its ending, or starts with it followed
by ``.`` (the only flag delimiter); the parts after that dot are read as language and
flags. The comparison ignores case, accents and symbols, so only a name that goes on
with something other than a dot escapes it: ``ep42-transcript`` goes on with ``-``
(or, once the ignored ``-`` is skipped, with ``t``). Video items have no lyric resolver.
The ending stays ``.txt``: every system opens it as text, web servers send it as
``text/plain``, and that is the type the Podcasting 2.0 ``<podcast:transcript>`` tag
gives it; an ending Jellyfin ignores (``.md``, ``.text``) would lose one of those.

``[plugins.txt] audio_name = "sidecar"`` keeps ``<stem>.<lang>.txt`` beside audio too
(for a library Jellyfin does not read, or one that wants the transcript as lyrics);
the default is ``"transcript"``. What counts as audio is the file's ending
(``outputs.is_audio``).
"""

from __future__ import annotations

from itertools import groupby
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ingest import Job, Segment, Settings, Transcript, hookimpl, outputs

NAME = "txt"
FORMAT = "txt"
PARAGRAPH_PAUSE = 2.0  # seconds of silence that start a new paragraph
AUDIO_STEM_SUFFIX = "-transcript"  # ep42.mp3 -> ep42-transcript.en.txt: not Jellyfin's lyrics


class TxtSettings(BaseModel):
    """``[plugins.txt]``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    # transcript: <stem>-transcript.<lang>.txt beside audio; sidecar: <stem>.<lang>.txt (Jellyfin's lyrics)
    audio_name: Literal["transcript", "sidecar"] = "transcript"


# Read at startup; the defaults until then.
_settings = TxtSettings()


def stem(media: Path) -> str:
    """How the transcript of ``media`` starts its name (see the module docstring)."""
    if _settings.audio_name == "transcript" and outputs.is_audio(media):
        return media.stem + AUDIO_STEM_SUFFIX
    return media.stem


outputs.declare_stem(FORMAT, stem)


def render(transcript: Transcript) -> str:
    if any(seg.speaker for seg in transcript.segments):
        return _turns(transcript)
    paragraphs: list[list[str]] = []
    last_end = None
    for seg in transcript.segments:
        text = seg.text.strip()
        if not text:
            continue
        if last_end is None or seg.start - last_end >= PARAGRAPH_PAUSE:
            paragraphs.append([])
        paragraphs[-1].append(text)
        last_end = seg.end
    return "".join(" ".join(p) + "\n\n" for p in paragraphs).rstrip("\n") + "\n" if paragraphs else ""


def _turns(transcript: Transcript) -> str:
    spoken = [seg for seg in transcript.segments if seg.text.strip()]
    paragraphs = [_paragraph(list(turn)) for _, turn in groupby(spoken, key=lambda s: s.speaker)]
    return "\n\n".join(paragraphs) + "\n"


def _paragraph(turn: list[Segment]) -> str:
    text = " ".join(seg.text.strip() for seg in turn)
    speaker = turn[0].speaker  # one line already: speakers.assign normalises every name
    return f"[{stamp(turn[0].start)}] {speaker}: {text}" if speaker else f"[{stamp(turn[0].start)}] {text}"


def stamp(seconds: float) -> str:
    """``HH:MM:SS``, rounded down: seeking there never skips the first word."""
    return outputs.clock(max(0, int(seconds)))[:8]


@hookimpl
def ingest_formats() -> list[str]:
    return [FORMAT]


@hookimpl
def ingest_plugin_settings() -> tuple[str, type[BaseModel]]:
    return NAME, TxtSettings


@hookimpl
def ingest_startup(settings: Settings, plugin_config: dict[str, BaseModel]) -> None:
    global _settings
    config = plugin_config.get(NAME)
    _settings = config if isinstance(config, TxtSettings) else TxtSettings()


@hookimpl
def ingest_write_outputs(job: Job, transcript: Transcript) -> list[Path]:
    return outputs.write_sidecar(job, transcript, FORMAT, lambda: render(transcript))
