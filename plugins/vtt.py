"""WebVTT (``.vtt``) subtitles, with speakers as voice spans.

A cue with a speaker starts ``<v Name>``, the WebVTT voice span that the Podcasting
2.0 transcript guidance uses and Apple Podcasts reads as speaker names; browsers keep
the voice for styling and do not print it. Every such cue carries its voice, not only
the first of a turn, because a WebVTT voice belongs to one cue and a player may show
any cue alone. The closing ``</v>`` is left out: WebVTT lets a span end with its cue,
every span here does, and the Podcasting 2.0 examples are written that way.

The file opens ``WEBVTT`` and a blank line, as the WebVTT standard writes it: the W3C
validator flags a line straight after the magic and node-webvtt refuses the file.
``[plugins.vtt] language_header = true`` adds the old ``Language: xx`` line that
YouTube's uploads read (browsers and the W3C parser skip it; strict readers do not).

``[plugins.vtt] profile``: ``auto`` (the default) keeps lines to at most 65 characters,
as the Podcasting 2.0 guidance asks of WebVTT, for a job whose watch names a feed (only
``[cues] max_line_chars`` above 65 changes anything); ``podcast`` or ``broadcast`` for
every job (``ingest.profiles``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ingest import Cue, CueSettings, Job, Settings, Transcript, hookimpl, outputs, profiles, speakers

NAME = "vtt"
FORMAT = "vtt"


class VttSettings(BaseModel):
    """``[plugins.vtt]``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    language_header: bool = False  # a "Language: xx" line after WEBVTT, for YouTube uploads
    profile: profiles.Profile = "auto"  # podcast: lines of at most 65 characters; auto: for watches with a feed


# The configured subtitle limits and plugin settings, read at startup; the defaults until then.
_limits = CueSettings()
_settings = VttSettings()


def escape(text: str) -> str:
    """WebVTT cue text must not carry raw ``&``, ``<`` or ``-->``."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render(cues: Sequence[Cue], language: str, language_header: bool = False) -> str:
    """The WebVTT text of ``cues``; ``language_header`` adds ``Language: <language>``."""
    head = f"WEBVTT\nLanguage: {language}" if language_header else "WEBVTT"
    blocks = [f"{outputs.clock(c.start)} --> {outputs.clock(c.end)}\n" + _text(c) for c in cues]
    return "\n\n".join([head, *blocks]) + "\n"


def _text(cue: Cue) -> str:
    text = "\n".join(escape(ln) for ln in cue.lines)
    if not cue.speaker:
        return text
    return f"<v {voice(cue.speaker)}>{text}"


def voice(speaker: str) -> str:
    """The voice name of a ``<v>`` span: one line (``speakers.assign`` normalises every name),
    with no character a renderer reads as markup, and no escape either: ``&amp;`` is valid
    WebVTT, but ffmpeg's reader (conversions, burn-ins) stops skipping the tag at
    an escape and shows the rest of the name in the cue."""
    return escape(speakers.label(speaker).replace("&", "\uff06"))  # a full-width ampersand


@hookimpl
def ingest_formats() -> list[str]:
    return [FORMAT]


@hookimpl
def ingest_plugin_settings() -> tuple[str, type[BaseModel]]:
    return NAME, VttSettings


@hookimpl
def ingest_startup(settings: Settings, plugin_config: dict[str, BaseModel]) -> None:
    global _limits, _settings
    _limits = settings.cues
    config = plugin_config.get(NAME)
    _settings = config if isinstance(config, VttSettings) else VttSettings()


@hookimpl
def ingest_write_outputs(job: Job, transcript: Transcript) -> list[Path]:
    limits = profiles.limits(FORMAT, _settings.profile, job, _limits)
    header = _settings.language_header

    def text() -> str:
        return render(profiles.cues(transcript, _limits, limits), transcript.output_language, header)

    return outputs.write_sidecar(job, transcript, FORMAT, text)
