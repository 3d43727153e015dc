"""Writing output files: atomically, and never over a file the user did not allow.

A file is written to a hidden temporary name in the target folder, flushed and
synced, then linked (or, with overwrite, renamed) into place: a media server never
sees half a subtitle, and an existing file is never clobbered by a race.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from pathlib import Path

from ingest.daemon.mediafiles import AUDIO_EXTENSIONS
from ingest.errors import OutputExistsError, Skipped, StageError
from ingest.models import Job, Transcript
from ingest.paths import shown
from ingest.subtitles import naming

TMP_SUFFIX = ".ingest-tmp"
TMP_OVERHEAD = ".." + "x" * 8 + TMP_SUFFIX  # what mkstemp adds around a name
# Formats whose file ending is not their name (Podcasting 2.0 JSON beside ingest's own .json);
# plugins add theirs with declare_extension().
EXTENSIONS = {"podcast": "transcript.json"}
# Formats whose sidecar name starts with a stem of their own (declare_stem): media → stem.
STEMS: dict[str, Callable[[Path], str]] = {}
ORPHAN_AGE = 600.0  # seconds


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Read once at import: os.umask() is process-wide and racy once worker threads run.
_UMASK = _read_umask()
_journal: ContextVar[list[Path] | None] = ContextVar("ingest_outputs_journal", default=None)


def declare_extension(fmt: str, extension: str) -> None:
    """Give a plugin's format a file ending other than its name.

    A plugin calls this when its module is imported, so the pipeline's checks for
    taken names look at the file the plugin will write: ``declare_extension("hello",
    "hello.txt")`` makes the sidecar ``<stem>.<lang>.hello.txt``.
    """
    if not extension or extension.startswith(".") or "/" in extension or os.sep in extension:
        raise ValueError(f"format {fmt!r}: extension {extension!r} must be a plain ending like 'hello.txt'")
    known = EXTENSIONS.get(fmt)
    if known is not None and known != extension:
        raise ValueError(f"format {fmt!r} already ends in .{known}; cannot also end in .{extension}")
    EXTENSIONS[fmt] = extension


def declare_stem(fmt: str, stem: Callable[[Path], str]) -> None:
    """Let a plugin's format start its sidecar's name with ``stem(media)`` instead of the
    media's own stem; the language, flags and ending follow as for every format.

    Called when the plugin's module is imported, like ``declare_extension``: every check
    for taken names and every skip for existing outputs then looks at that name. The
    text writer names its file beside audio ``ep42-transcript.en.txt`` this way.
    """
    STEMS[fmt] = stem


def is_audio(media: Path) -> bool:
    """Whether ``media`` is an audio file by its ending, the way media servers tell music,
    podcasts and audiobooks from video (Jellyfin reads lyrics beside audio only)."""
    return media.suffix.lower() in AUDIO_EXTENSIONS


def wanted(job: Job, fmt: str) -> bool:
    return fmt in job.options.formats


def target(job: Job, language: str, fmt: str) -> Path:
    """The sidecar path for format ``fmt`` under the job's naming options."""
    opts = job.options
    stem = STEMS.get(fmt)
    return naming.sidecar(
        job.path,
        language,
        EXTENSIONS.get(fmt, fmt),
        output_dir=opts.output_dir,
        style=opts.language_codes,
        sdh=opts.sdh,
        forced=opts.forced,
        stem=stem(job.path) if stem else None,
    )


def may_replace(job: Job, path: Path) -> bool:
    return job.options.overwrite or path in job.replaceable


def write_sidecar(job: Job, transcript: Transcript, fmt: str, render: Callable[[], str]) -> list[Path]:
    """The body of a writer's hook: when ``fmt`` is wanted, render and write its sidecar.

    Returns the list a writer returns from ``ingest_write_outputs``.
    """
    if not wanted(job, fmt):
        return []
    path = target(job, transcript.output_language, fmt)
    return [write_text(job.path, path, render(), overwrite=may_replace(job, path))]


def check_folder(media: Path, folder: Path) -> None:
    """Make ``folder`` if needed; fail before any work when outputs could not go there."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StageError("write", media, f"cannot create output folder {folder}: {exc.strerror}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise StageError("write", media, f"cannot write to folder {folder}: permission denied")


def name_max(folder: Path) -> int:
    """The longest file name, in bytes, the filesystem holding ``folder`` takes."""
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def _stem_for_temp(path: Path) -> str:
    """The target's name, cut so that ``.NAME.xxxxxxxx.ingest-tmp`` fits wherever the
    target's own name fits (the temporary name is 21 bytes longer)."""
    room = name_max(path.parent) - len(TMP_OVERHEAD)
    raw = os.fsencode(path.name)
    return os.fsdecode(raw[:room]) if len(raw) > room else path.name


def check_names(job: Job, targets: list[Path]) -> None:
    """Refuse, before any transcription, a sidecar whose name the filesystem cannot hold."""
    for target in targets:
        limit = name_max(target.parent)
        if len(os.fsencode(target.name)) > limit:
            raise StageError(
                "write",
                job.path,
                f"the sidecar name '{shown(target.name)}' is {len(os.fsencode(target.name))} bytes, over this "
                f"filesystem's limit of {limit}: shorten the media's name",
            )


def check_free(job: Job, targets: list[Path]) -> None:
    """Refuse a job whose targets are taken by files ingest may not replace."""
    taken = [t for t in targets if t.exists() and not may_replace(job, t)]
    if not taken:
        return
    if job.options.existing == "skip":
        raise Skipped(untouched(taken))
    raise OutputExistsError(job.path, taken)


def untouched(taken: Sequence[Path]) -> str:
    """Why a job is skipped when its targets belong to someone else."""
    return f"{', '.join(str(t) for t in taken)} exists and was not written by ingest; left untouched"


def write_text(media: Path, path: Path, text: str, *, overwrite: bool = False) -> Path:
    """Atomically write ``text`` to ``path``; ``media`` names the job in errors."""
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{_stem_for_temp(path)}.", suffix=TMP_SUFFIX, dir=path.parent)
    except OSError as exc:
        raise StageError("write", media, f"cannot create a file in {path.parent}: {exc.strerror}") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.chmod(0o666 & ~_UMASK)
        _place(media, tmp, path, overwrite)
    except OSError as exc:
        raise StageError("write", media, f"writing {path} failed: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)
    journal = _journal.get()
    if journal is not None:
        journal.append(path)
    return path


def _place(media: Path, tmp: Path, path: Path, overwrite: bool) -> None:
    if overwrite:
        tmp.replace(path)
        return
    try:
        os.link(tmp, path)  # fails if path exists: no check-then-write race
    except FileExistsError:
        raise OutputExistsError(media, [path]) from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
        if path.exists():  # a filesystem without hard links (FAT, some SMB shares)
            raise OutputExistsError(media, [path]) from None
        tmp.replace(path)


def remove_orphans(folder: Path, older_than: float = ORPHAN_AGE) -> list[Path]:
    """Delete temp files a killed process left under ``folder`` (a write lasts milliseconds,
    so one older than ``older_than`` seconds belongs to nobody)."""
    return [tmp for tmp in folder.rglob(f".*{TMP_SUFFIX}") if remove_if_orphan(tmp, older_than)]


def remove_if_orphan(tmp: Path, older_than: float = ORPHAN_AGE) -> bool:
    """Delete one temp file if it is old enough to be a write cut short; True if it was."""
    try:
        st = tmp.lstat()
        if not stat.S_ISREG(st.st_mode) or st.st_mtime >= time.time() - older_than:
            return False
        tmp.unlink()
    except OSError:  # gone meanwhile, or not ours to remove
        return False
    return True


@contextlib.contextmanager
def rollback_on_error() -> Iterator[list[Path]]:
    """Remove the files written inside the block if it raises: all outputs or none."""
    written: list[Path] = []
    token = _journal.set(written)
    try:
        yield written
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    finally:
        _journal.reset(token)


def clock(seconds: float, decimal: str = ".") -> str:
    """``HH:MM:SS.mmm`` (``,`` as the decimal mark for SRT)."""
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal}{millis:03d}"


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
