"""The options of one file: the global settings, then the overrides of the watch holding it.

Settings are validated once (``ingest.settings``); this turns them into the frozen
``JobOptions`` a job carries, so no stage reads the settings tree itself.
"""

from __future__ import annotations

import json
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from ingest.models import JobOptions
from ingest.paths import located
from ingest.settings import Settings, WatchSettings


def watch_for(settings: Settings, path: Path) -> WatchSettings | None:
    """The watch entry whose folder holds ``path`` (the deepest one wins)."""
    path = located(path)  # a symlinked file belongs to the watch holding the link
    holding = [w for w in settings.watches if path.is_relative_to(w.path.expanduser().resolve())]
    return max(holding, key=lambda w: len(w.path.parts), default=None)


WATCH_OVERRIDES = frozenset(
    {
        "language",
        "task",
        "formats",
        "output_dir",
        "initial_prompt",
        "hotwords",
        "diarize",
        "num_speakers",
        "min_speakers",
        "max_speakers",
        "speaker_names",
        "feed",
        "feed_base_url",
    }
)


def job_options(settings: Settings, path: Path, pinned: frozenset[str] = frozenset()) -> JobOptions:
    """The options for one file: global settings, then its watch's overrides.

    Keys in ``pinned`` were given on the command line and beat the watch entry.
    """
    t, o = settings.transcribe, settings.output
    d = settings.diarize
    values: dict[str, Any] = {
        **t.model_dump(exclude={"idle_unload_seconds"}),
        "diarize": d.enabled,
        "diarize_model": d.model,
        "diarize_device": d.device,
        "num_speakers": d.num_speakers,
        "min_speakers": d.min_speakers,
        "max_speakers": d.max_speakers,
        "speaker_names": d.speaker_names,
        **o.model_dump(),
        "models_dir": settings.models_dir,
    }
    watch = watch_for(settings, path)
    if watch is not None:
        overrides = watch.model_dump(include=set(WATCH_OVERRIDES), exclude_none=True)
        values.update({k: v for k, v in overrides.items() if k not in pinned})
        if watch.mode == "dropfolder" and "output_dir" not in pinned and watch.output_dir is None:
            values["output_dir"] = watch.dropfolder_dirs()[0]
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return JobOptions(**values)


# The options a request to the HTTP service may set on its own job (``Ledger.submit``).
REQUEST_OVERRIDES = frozenset(
    {"language", "task", "initial_prompt", "formats", "output_dir", "overwrite", "diarize"}
    | {"num_speakers", "min_speakers", "max_speakers"}
)
_PATH_OPTIONS = frozenset(f.name for f in fields(JobOptions) if "Path" in str(f.type))


def with_overrides(options: JobOptions, stored: str | None) -> JobOptions:
    """``options`` with a request's own options (JSON as the ledger stores them) over them;
    unchanged when ``stored`` is None (a watched file). Keys outside ``REQUEST_OVERRIDES``
    are refused with a ``ValueError``: a ledger row never sets the engine or the device."""
    if stored is None:
        return options
    values: dict[str, Any] = json.loads(stored)
    unknown = sorted(set(values) - REQUEST_OVERRIDES)
    if unknown:
        raise ValueError(f"job options {unknown} cannot be set by a request")
    for name, value in values.items():
        if isinstance(value, list):
            values[name] = tuple(value)
        elif name in _PATH_OPTIONS and value is not None:
            values[name] = Path(value)
    return replace(options, **values)
