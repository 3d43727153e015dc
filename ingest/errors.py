"""The errors ingest raises on purpose. Each carries what a user needs to act."""

from __future__ import annotations

from pathlib import Path
from stat import S_ISBLK, S_ISCHR, S_ISFIFO, S_ISSOCK


class IngestError(Exception):
    """Base of every error ingest raises deliberately."""


class ConfigError(IngestError):
    """The configuration is wrong: names the key, the value and what is allowed."""


class MediaError(IngestError):
    """A media file cannot be used: names the file and the cause.

    ``permanent`` when trying again cannot help until the file's content changes (empty,
    not media, no audio, damaged): the daemon fails it at once instead of retrying, and new
    content starts it over. A timeout or a permission is worth another try.
    """

    def __init__(self, path: Path | str, cause: str, *, permanent: bool = False) -> None:
        self.path = Path(path)
        self.cause = cause
        self.permanent = permanent
        super().__init__(f"{self.path}: {cause}")


class StageError(IngestError):
    """A pipeline stage failed for one file."""

    def __init__(self, stage: str, path: Path | str, cause: str) -> None:
        self.stage = stage
        self.path = Path(path)
        self.cause = cause
        super().__init__(f"{self.path}: {stage} failed: {cause}")


class Skipped(IngestError):
    """The job should not run (a plugin said no, or a sidecar the user made is in the way)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Cancelled(IngestError):
    """The daemon is stopping: the job is handed back, to run again later."""


class OutputExistsError(StageError):
    """A target sidecar exists and the user did not ask to overwrite it."""

    def __init__(self, path: Path | str, targets: list[Path]) -> None:
        names = ", ".join(str(t) for t in targets)
        super().__init__("write", path, f"{names} already exists (use --overwrite to replace)")
        self.targets = targets


class NotRegularFile(OSError):
    """A path in a library that is a FIFO, socket or device: never media, never opened for reading."""

    def __init__(self, path: Path, mode: int) -> None:
        super().__init__(f"{path}: not a regular file ({file_kind(mode)}); only regular files are media")
        self.path = path


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    for test, name in ((S_ISFIFO, "a named pipe"), (S_ISSOCK, "a socket"), (S_ISCHR, "a character device")):
        if test(mode):
            return name
    return "a block device" if S_ISBLK(mode) else "not a file"
