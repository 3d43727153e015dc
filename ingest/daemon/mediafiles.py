"""What counts as media under a watched folder: extensions, ignore globs, the walk.

Shared by the live watcher, the daemon's reconcile and ``ingest scan``, so a file is
wanted or not by the same rules whichever way it was found.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

_VIDEO = (".mkv", ".mp4", ".m4v", ".avi", ".mov", ".webm", ".ts", ".m2ts", ".wmv", ".flv", ".mpg", ".mpeg")
_AUDIO = (".mp3", ".m4a", ".m4b", ".aac", ".flac", ".wav", ".ogg", ".opus", ".wma")
DEFAULT_EXTENSIONS: frozenset[str] = frozenset((*_VIDEO, *_AUDIO))
# Audio by its ending, as media servers file it (Jellyfin: music and audiobooks, with lyrics
# beside them): the watched kinds and others a watch may add.
AUDIO_EXTENSIONS: frozenset[str] = frozenset((*_AUDIO, ".mka", ".oga", ".aif", ".aiff", ".ape", ".wv", ".mp2", ".ac3"))
# Media a watch does not pick up by default but that may still sit beside a file
# (camcorder and DVD formats): a subtitle named after one belongs to it, not to ours.
MEDIA_EXTENSIONS: frozenset[str] = (
    DEFAULT_EXTENSIONS | AUDIO_EXTENSIONS | {".mts", ".ogv", ".vob", ".mxf", ".3gp", ".divx", ".mk3d"}
)
DEFAULT_IGNORE: tuple[str, ...] = (
    *("*.part", "*.partial", "*.tmp", "*.!qb", "*.crdownload", ".*", "*sample*"),
    *("extras", "featurettes", "behind the scenes", "trailers"),
    *("@eadir", "#recycle", "$recycle.bin", "lost+found"),
)


@dataclass(frozen=True)
class WatchSpec:
    """One watched folder and what counts as media in it."""

    path: Path
    recursive: bool = True
    extensions: frozenset[str] = DEFAULT_EXTENSIONS  # lower-case, with the dot
    ignore: tuple[str, ...] = DEFAULT_IGNORE  # globs, case-insensitive, on the name and each folder below the root
    polling: bool | None = None  # None: poll network and FUSE filesystems, use native events elsewhere
    poll_interval: float = 5.0
    key: str = ""  # an id for this watch (the daemon uses the path string)


def ignored(spec: WatchSpec, name: str) -> bool:
    lowered = name.lower()
    return any(fnmatch.fnmatchcase(lowered, pattern.lower()) for pattern in spec.ignore)


def folder_wanted(spec: WatchSpec, folder: Path) -> bool:
    """True when ``folder`` is the root or below it, within reach and not ignored."""
    try:
        parts = folder.relative_to(spec.path).parts
    except ValueError:
        return False
    if parts and not spec.recursive:
        return False
    return not any(ignored(spec, part) for part in parts)


def wanted(spec: WatchSpec, path: Path) -> bool:
    """True when ``path`` names media this watch should report (by name only, no I/O)."""
    if path.suffix.lower() not in spec.extensions or ignored(spec, path.name):
        return False
    return folder_wanted(spec, path.parent)


def walk(spec: WatchSpec, top: Path) -> Iterator[Path]:
    """Every wanted file at or below ``top``, which must already be a wanted folder."""
    stack = [top]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            log.warning("scan_unreadable", path=str(folder), error=str(exc))
            continue
        for entry in entries:
            path = Path(entry.path)
            # A symlinked folder could loop or leave the watch; a symlink to a media file counts.
            if _entry_is(entry.is_dir, follow_symlinks=False):
                if spec.recursive and not ignored(spec, entry.name):
                    stack.append(path)
            elif wanted(spec, path) and _entry_is(entry.is_file):
                yield path


def _entry_is(test: Callable[..., bool], **kwargs: bool) -> bool:
    try:
        return test(**kwargs)
    except OSError:  # vanished or unreadable since the listing
        return False


def scan(spec: WatchSpec) -> Iterator[Path]:
    """Every wanted file under the watch, in name order within each folder."""
    return walk(spec, spec.path)
