"""Drop-folder mode: outputs go to an outbox, the source to ``done/`` or ``failed/``.

For automation that drops any media into ``inbox/`` and collects results. A failed
source gets a ``<name>.error.txt`` beside it saying why.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import structlog

from ingest.errors import IngestError
from ingest.models import Job, JobResult
from ingest.paths import located
from ingest.settings import Settings
from ingest.settings.options import watch_for
from ingest.subtitles import outputs

log = structlog.get_logger(__name__)


def after_job(conf: Settings, job: Job, result: JobResult) -> Path | None:
    """Move the source of a finished drop-folder job; the new path, or None."""
    watch = watch_for(conf, job.path)
    if watch is None or watch.mode != "dropfolder":
        return None
    _, done, failed = watch.dropfolder_dirs()
    target_root = failed if result.status == "failed" else done
    relative = located(job.path).relative_to(watch.path.expanduser().resolve())
    target = _free_name(target_root / relative)
    try:
        _move(job, result, target)
    except (OSError, IngestError) as exc:  # e.g. the source was deleted meanwhile: the worker carries on
        log.error("dropfolder_move_failed", file=str(job.path), to=str(target), error=str(exc))
        return None
    log.info("dropfolder_moved", file=str(job.path), to=str(target), status=result.status)
    return target


def _move(job: Job, result: JobResult, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(job.path, target)
    if result.status == "failed":
        note = target.with_name(target.name + ".error.txt")
        outputs.write_text(job.path, note, (result.error or "failed") + "\n", overwrite=True)


def _free_name(path: Path) -> Path:
    """``path``, or ``name (2).ext`` and so on when something already has that name."""
    n = 2
    candidate = path
    while candidate.exists():
        candidate = path.with_name(f"{path.stem} ({n}){path.suffix}")
        n += 1
    return candidate
