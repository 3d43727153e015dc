"""ingest: a transcription daemon for home servers and small studios.

This module is the public plugin API: everything a plugin needs is importable from
``ingest`` itself (``from ingest import hookimpl, Job, Transcript, outputs``), and only
what ``__all__`` lists is promised. Where a name lives inside the package may change
from one release to the next; ``from ingest import ...`` does not. ingest's own modules
import from their real homes, never through this one.

- The host: ``hookimpl`` (mark a hook), ``EngineInfo`` (what an engine says of itself).
- The job values (frozen): ``Job``, ``JobOptions``, ``MediaFile``, ``AudioTrack``,
  ``Audio``, ``Transcript``, ``Segment``, ``Word``, ``SpeakerTurn``, ``Cue``, ``JobResult``.
- Errors: ``ConfigError`` (stops the program with a message), ``StageError``,
  ``MediaError``, ``Skipped``, ``OutputExistsError``, ``Cancelled``, ``IngestError``.
- Settings: ``Settings`` and the sections plugins read, ``split_csv``.
- Writer helpers: ``outputs`` (atomic sidecar writing, names, formats), ``cues``, ``profiles``, ``wrap``,
  ``speakers``, ``standards``, ``languages``, ``sidecars``, ``choose_track``.
- Engine helpers: ``device``, ``vad``, ``langdetect``, ``windows``, ``modelcache``, ``weights``,
  ``ModelRef``, ``checkpoints``, ``convert``, ``diarization``.
- Telling the world: ``notice``, ``Notice``, ``digest``, ``redact``, ``delivery``, ``Courier``, ``mediaserver``,
  ``Server``, ``ServerSettings``, ``pathmap``.
"""

from __future__ import annotations

__version__ = "0.1.0"

# ruff: noqa: I001 - the version first (plugins and the CLI read it); the order below is the API's.
from ingest.plugins import EngineInfo, hookimpl
from ingest.errors import Cancelled, ConfigError, IngestError, MediaError, OutputExistsError, Skipped, StageError
from ingest.models import (
    Audio,
    AudioTrack,
    Cue,
    Job,
    JobOptions,
    JobResult,
    MediaFile,
    Segment,
    SpeakerTurn,
    Transcript,
    Word,
)
from ingest.settings import CueSettings, Settings, SpeechSettings, split_csv
from ingest.subtitles import cues, languages, outputs, profiles, sidecars, standards
from ingest.transcript import speakers
from ingest.subtitles.cues import wrap
from ingest.media.probe import choose_track
from ingest.engines import checkpoints, convert, device, modelcache, weights, windows
from ingest.transcript import diarization, langdetect
from ingest.media import vad
from ingest.engines.weights import ModelRef
from ingest.notify import delivery, digest, mediaserver, notice, pathmap, redact
from ingest.notify.delivery import Courier
from ingest.notify.mediaserver import Server, ServerSettings
from ingest.notify.notice import Notice
from ingest.paths import printable, shown

__all__ = [
    "Audio",
    "AudioTrack",
    "Cancelled",
    "ConfigError",
    "Courier",
    "Cue",
    "CueSettings",
    "EngineInfo",
    "IngestError",
    "Job",
    "JobOptions",
    "JobResult",
    "MediaError",
    "MediaFile",
    "ModelRef",
    "Notice",
    "OutputExistsError",
    "Segment",
    "Server",
    "ServerSettings",
    "Settings",
    "Skipped",
    "SpeakerTurn",
    "SpeechSettings",
    "StageError",
    "Transcript",
    "Word",
    "__version__",
    "checkpoints",
    "choose_track",
    "convert",
    "cues",
    "delivery",
    "device",
    "diarization",
    "digest",
    "hookimpl",
    "langdetect",
    "languages",
    "mediaserver",
    "modelcache",
    "notice",
    "outputs",
    "pathmap",
    "printable",
    "profiles",
    "redact",
    "shown",
    "sidecars",
    "speakers",
    "split_csv",
    "standards",
    "vad",
    "weights",
    "windows",
    "wrap",
]

from ingest import _moved

_moved.install()  # old module paths (ingest.outputs, ...) keep working for one release, with a warning
