"""Skip files that already have subtitles in the wanted language, as a sidecar or embedded.

Runs after probing and before any audio is decoded, so a skipped file costs one
ffprobe and one look at its folder. The reason names what was found and is what
``ingest status`` and the one-shot CLI show: ``subtitles exist: "Subs/Film.en.sdh.srt"
(en)`` or ``embedded subtitle stream 2 (subrip, en)``.

What counts, per wanted language (every wanted language must be covered to skip):

- a sidecar under any name Plex or Jellyfin read (``ingest.sidecars``), flags and
  ``subs/`` folders included;
- an embedded *text* subtitle stream (``embedded``, on by default). Bitmap streams
  (PGS, VobSub) are not counted: they cannot be searched, read aloud or restyled, and
  most clients transcode the video to show them; a text track is what users ask for;
- not a forced track, unless ``ignore_forced = false``: forced subtitles only cover
  foreign-language dialogue, not the whole programme;
- not an output ingest wrote earlier for this file that nobody changed since
  (``job.replaceable``, from the daemon's ledger): the ledger queued the file again
  (new content, ``ingest retry``), so those are about to be replaced. With
  ``only_ingest = true`` it is the other way round: only those count, never the user's
  files or embedded streams. The one-shot ``ingest process`` keeps no ledger, so with
  ``only_ingest`` nothing counts there.

The wanted languages: English when translating; else the language forced for the job;
else ``languages`` from these settings; else the language tag of the audio track the
pipeline will transcribe. When none of those is known, any subtitle counts: Whisper
only learns the spoken language from decoded audio, which this check exists to save,
and subtitles shipped with a file are almost always in its own language, so a new
transcript would most often duplicate them. Set ``languages`` to be exact.

A sidecar at the very name ingest would write follows the job's ``existing`` policy,
as the pipeline's own check does: the daemon skips with the pipeline's words, said
before decoding instead of after transcribing; the one-shot CLI leaves it to the
pipeline, which fails the file and suggests ``--overwrite``. Nothing is skipped when
the job has ``overwrite`` set: the user asked for the file to be done again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import structlog
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ingest import Job, MediaFile, Settings, choose_track, hookimpl, languages, outputs, sidecars, split_csv

NAME = "skip_existing"
log = structlog.get_logger(__name__)


class SkipExistingSettings(BaseModel):
    """``[plugins.skip_existing]``; env ``INGEST_PLUGINS__SKIP_EXISTING__<KEY>``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    languages: list[str] = Field(default_factory=list)  # "en,de" or ["en", "German"]
    ignore_forced: bool = True
    only_ingest: bool = False
    embedded: bool = True

    _split = field_validator("languages", mode="before")(split_csv)  # "en,de" from the environment

    @field_validator("languages")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        return [languages.normalize(v) for v in value]


@dataclass(frozen=True)
class Found:
    """One subtitle that may cover a wanted language, and how to name it to the user."""

    language: str | None
    forced: bool
    description: str


# Read at startup; the defaults until then.
_config = SkipExistingSettings()
_track_languages: tuple[str, ...] = ()


@hookimpl
def ingest_plugin_settings() -> tuple[str, type[BaseModel]]:
    return NAME, SkipExistingSettings


@hookimpl
def ingest_startup(settings: Settings, plugin_config: dict[str, BaseModel]) -> None:
    global _config, _track_languages
    config = plugin_config.get(NAME)
    _config = config if isinstance(config, SkipExistingSettings) else SkipExistingSettings()
    _track_languages = tuple(settings.audio.track_languages)


@hookimpl
def ingest_accept(media: MediaFile, job: Job) -> str | None:
    """The reason to skip ``media``, or None to let it through."""
    if not _config.enabled or job.options.overwrite:
        return None
    wanted = wanted_languages(media, job, _config, _track_languages)
    found = [f for f in existing(media, job, _config) if not (f.forced and _config.ignore_forced)]
    reason = covering(wanted, found)
    log.debug("existing_subtitles", file=str(media.path), wanted=list(wanted), found=len(found), skip=bool(reason))
    return reason


def wanted_languages(
    media: MediaFile, job: Job, config: SkipExistingSettings, track_languages: tuple[str, ...] = ()
) -> tuple[str, ...]:
    """The languages this job's subtitles would be in; empty when that is not known yet."""
    if language := job.options.output_language:
        return (languages.sidecar_code(language),)
    if config.languages:
        return tuple(config.languages)
    spoken = choose_track(media, track_languages).language  # the track the pipeline will decode
    return (spoken,) if spoken else ()


def existing(media: MediaFile, job: Job, config: SkipExistingSettings) -> list[Found]:
    """Subtitles of ``media`` that count under ``config``: sidecars first, then embedded."""
    if config.only_ingest:
        mine = [sidecars.parse(p, media.path.stem) for p in sorted(job.replaceable)]
        return [_listed(s, media, ours=True) for s in mine if s is not None]
    others = [_sidecar(s, media, job) for s in sidecars.find(media.path) if s.path not in job.replaceable]
    found = [f for f in others if f is not None]
    if config.embedded:
        found += [_embedded(t.index, t.codec, t.language, t.forced) for t in media.subtitle_tracks if t.text]
    return found


def covering(wanted: tuple[str, ...], found: list[Found]) -> str | None:
    """The skip reason when ``found`` covers every wanted language (any, when none is wanted)."""
    if not wanted:
        return found[0].description if found else None
    picks = [next((f for f in found if f.language == lang), None) for lang in wanted]
    if any(p is None for p in picks):
        return None
    return "; ".join(p.description for p in picks if p is not None)


def _sidecar(sidecar: sidecars.Sidecar, media: MediaFile, job: Job) -> Found | None:
    """A sidecar outside ``job.replaceable``; None when this job would write over it."""
    language = sidecar.language
    if language and _is_target(job, sidecar.path, language):
        if job.options.existing != "skip":
            return None  # the pipeline fails the job and suggests --overwrite
        # The same situation, in the same words as outputs.check_free, only said sooner.
        return Found(language, sidecar.forced, outputs.untouched([sidecar.path]))
    return _listed(sidecar, media)


def _listed(sidecar: sidecars.Sidecar, media: MediaFile, ours: bool = False) -> Found:
    language = sidecar.language
    name = _shown(sidecar.path, media.path.parent)
    about = (language or "no language in the name") + (", written by ingest" if ours else "")
    return Found(language, sidecar.forced, f'subtitles exist: "{name}" ({about})')


def _embedded(index: int, codec: str, language: str | None, forced: bool) -> Found:
    flags = ", forced" if forced else ""
    return Found(
        language, forced, f"embedded subtitle stream {index} ({codec}, {language or 'no language tag'}{flags})"
    )


def _is_target(job: Job, path: Path, language: str) -> bool:
    """Whether ingest itself would write ``path`` for this job."""
    return any(outputs.target(job, language, fmt) == path for fmt in job.options.formats)


def _shown(path: Path, folder: Path) -> str:
    return str(path.relative_to(folder)) if path.is_relative_to(folder) else str(path)
