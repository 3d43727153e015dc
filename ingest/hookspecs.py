"""Every hook a plugin can implement. These docstrings are the plugin documentation.

A plugin is a plain module of functions decorated with ``ingest.hookimpl`` and
registered through the ``ingest`` entry-point group. Built-in plugins are loaded
exactly the same way. Hook names start with ``ingest_``; a plugin implements only
the hooks it needs, and may accept fewer arguments than the spec names.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from pydantic import BaseModel

    from ingest.models import Audio, Job, JobResult, MediaFile, SpeakerTurn, Transcript
    from ingest.plugins import EngineInfo
    from ingest.settings import Settings

hookspec = pluggy.HookspecMarker("ingest")


@hookspec
def ingest_plugin_settings() -> tuple[str, type[BaseModel]] | None:
    """Declare this plugin's settings.

    Called once while plugins load, on every plugin. Return ``(name, model)``: the
    table ``[plugins.<name>]`` of the TOML file and ``INGEST_PLUGINS__<NAME>__<KEY>``
    variables are validated against ``model`` (a pydantic model) before any work.
    A bad value stops the program with the key named. The validated values reach
    ``ingest_startup`` as ``plugin_config[name]``.
    """


@hookspec
def ingest_startup(settings: Settings, plugin_config: dict[str, BaseModel], command: str) -> None:
    """The program is starting, after settings and plugin settings are valid.

    Called on every plugin, once, before the first job. ``plugin_config`` maps each
    name declared by ``ingest_plugin_settings`` to its validated model. ``command`` is
    what is running: ``"run"`` (the daemon), ``"scan"`` (a backfill of a folder) or
    ``"process"`` (files named on the command line). Raise ``ConfigError`` to stop the
    program with a message (for example a missing API key).
    """


@hookspec
def ingest_shutdown() -> None:
    """The program is stopping, after the last job. Called on every plugin."""


@hookspec
def ingest_engines() -> list[EngineInfo]:
    """Describe the transcription engines this plugin provides.

    Called on every plugin by ``ingest doctor`` and to validate ``--engine``.
    Return a list of ``EngineInfo`` (name, whether it can run here, why not).
    """


@hookspec
def ingest_formats() -> list[str]:
    """Name the output formats this plugin writes (``"srt"``, ``"vtt"``, ...).

    Called on every plugin to validate the ``formats`` setting and ``--format``.
    A format's file ends in ``.<format>`` unless the plugin, when its module is
    imported, calls ``ingest.outputs.declare_extension(format, "ending.ext")``; its name
    starts with the media's stem unless it calls ``ingest.outputs.declare_stem``.
    """


@hookspec
def ingest_accept(media: MediaFile, job: Job) -> bool | str | None:
    """Decide whether a probed file should be transcribed at all.

    Called on every plugin after probing, before any audio is decoded. Return
    ``True`` or ``None`` to let the file through; ``False`` or a string (the reason,
    shown to the user and recorded) to skip it. Any skip wins.
    """


@hookspec(firstresult=True)
def ingest_transcribe(job: Job, audio: Audio) -> Transcript | None:
    """Turn decoded audio into a ``Transcript`` with word timestamps.

    Called once per file, after its audio is decoded and accepted.
    First result wins. An engine returns ``None`` unless ``job.options.engine``
    names it, so settings, not registration order, choose between engines.
    Decode only ``audio.speech`` (seconds, from voice-activity detection) when it is
    not ``None``; the pipeline drops words outside it anyway. Call
    ``job.progress(seconds_done, seconds_total)`` while working, when it is set, and
    ``job.language_known(language)`` once the spoken language is judged and before the
    long decode: it raises (let it propagate) when that language's sidecars are taken.
    """


@hookspec(firstresult=True)
def ingest_diarize(job: Job, audio: Audio) -> list[SpeakerTurn] | None:
    """Say who speaks when, for a job with ``job.options.diarize`` set.

    Called after transcription; first result wins. Return speaker turns (any labels:
    the pipeline renames them "Speaker 1", ... or to ``job.options.speaker_names`` in
    order of first appearance), or ``None`` when diarization is not this plugin's to do.
    Built-in diarizers are ``trylast`` so an installed plugin can replace them.
    """


@hookspec
def ingest_write_outputs(job: Job, transcript: Transcript) -> list[Path]:
    """Write the files of the formats in ``job.options.formats`` this plugin owns.

    Called on every plugin after cues are built (``transcript.cues``). Write with
    ``ingest.outputs.write_text`` so writes are atomic and never overwrite a file
    the user did not allow. Return the paths written (an empty list when the
    plugin's formats were not asked for).
    """


@hookspec
def ingest_job_finished(job: Job, result: JobResult) -> None:
    """A job ended (done, failed or skipped). Called on every plugin.

    A failed attempt the daemon will retry comes with ``result.final`` false; the
    last attempt (and every one-shot ``ingest process`` failure) has it true. In the
    daemon the outcome is already in the ledger when this is called, so a crash never
    leaves a job announced but unrecorded (it would be run and announced again).

    An exception here is logged with the plugin's name and never changes the
    job's result.
    """
