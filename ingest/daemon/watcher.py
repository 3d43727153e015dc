"""Watching folders: watchdog observers whose callbacks only enqueue.

Local disks use the native observer (inotify on Linux); network and FUSE
filesystems are polled, because changes made by another machine raise no local
events. A small supervisor thread re-arms a watch whose root was deleted,
replaced or (re)mounted, and reports the files it then finds.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog
from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
    FileSystemMovedEvent,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch
from watchdog.observers.polling import PollingObserver

from ingest.daemon.mediafiles import WatchSpec, folder_wanted, scan, walk, wanted
from ingest.daemon.mounts import filesystem_type, is_network_fs
from ingest.subtitles.outputs import TMP_SUFFIX

log = structlog.get_logger(__name__)

_MISSING = "root missing"
# Only what the handler acts on. Without a filter inotify also reports every read-only
# open and close in the tree: a media server scanning the library, or our own
# fingerprinting, would cost this process ~40 µs of Python per file opened.
EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileClosedEvent,
    FileMovedEvent,
    FileDeletedEvent,
    FileAttribEvent,
    DirCreatedEvent,
    DirMovedEvent,
    DirDeletedEvent,
]


class _Handler(FileSystemEventHandler):
    """Turns one watch's events into on_file/on_gone calls; runs on an observer thread."""

    def __init__(
        self, spec: WatchSpec, watched: str, on_file: Callable, on_gone: Callable, on_temp: Callable | None = None
    ) -> None:
        self.spec, self._watched, self._on_file, self._on_gone = spec, watched, on_file, on_gone
        self._on_temp = on_temp

    def _path(self, raw: bytes | str) -> Path:
        """The event's path below ``spec.path`` (we watch the resolved root, so a symlinked root works)."""
        text = os.fsdecode(raw)
        if self._watched == str(self.spec.path):
            return Path(text)
        return self.spec.path / os.path.relpath(text, self._watched)

    def dispatch(self, event: FileSystemEvent) -> None:
        # An exception here would end the observer's thread and with it every watch on it.
        try:
            self._route(event)
        except Exception:
            log.exception("watch_callback_failed", path=str(event.src_path), kind=event.event_type)

    def _route(self, event: FileSystemEvent) -> None:
        kind, is_dir = event.event_type, event.is_directory
        if is_dir and event.is_synthetic:
            return  # watchdog's events for subfolders of a folder moved in/around: our walk covers them
        # attrib: touch or chmod (an unreadable file made readable is news too)
        if kind in ("created", "modified", "closed", "attrib") and not is_dir:
            self._arrived(self._path(event.src_path))
        elif kind == "created":
            self._folder_arrived(self._path(event.src_path))
        elif kind == "deleted":
            self._left(self._path(event.src_path), is_dir)
        elif kind == "moved" and isinstance(event, FileSystemMovedEvent):
            self._left(self._path(event.src_path), is_dir)
            if is_dir:
                self._folder_arrived(self._path(event.dest_path))
            else:
                self._arrived(self._path(event.dest_path))

    def _arrived(self, path: Path) -> None:
        if wanted(self.spec, path):
            self._on_file(path, self.spec)
        elif self._on_temp and path.name.endswith(TMP_SUFFIX) and folder_wanted(self.spec, path.parent):
            self._on_temp(path, self.spec)

    def _folder_arrived(self, folder: Path) -> None:
        # A folder moved in may bring files with no events of their own (watchdog 7
        # simulates them, older versions and other platforms may not), and a new
        # folder may fill before its watch exists: look inside.
        if folder != self.spec.path and folder_wanted(self.spec, folder):
            for found in walk(self.spec, folder):
                self._on_file(found, self.spec)

    def _left(self, path: Path, is_dir: bool) -> None:
        if (is_dir and folder_wanted(self.spec, path)) or wanted(self.spec, path):
            self._on_gone(path, self.spec)


@dataclass(frozen=True)
class _Armed:
    observer: BaseObserver
    watch: ObservedWatch
    identity: tuple[int, int]  # (st_dev, st_ino) of the root when armed
    mode: str


def _identity(path: Path) -> tuple[int, int] | None:
    """(st_dev, st_ino) of a directory, or None when it is missing or not a directory."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISDIR(st.st_mode) else None


def _emitter_alive(armed: _Armed) -> bool:
    return any(e.watch == armed.watch and e.is_alive() for e in list(armed.observer.emitters))


class Watcher:
    """Watches folders and calls ``on_file``/``on_gone``, which must only enqueue.

    ``on_file`` may see a path many times (each write, close and rename); debounce
    with :class:`ingest.settle.Settler`. ``on_gone`` gets deleted or moved-away files,
    and folders (everything under a folder path is gone). ``start()`` reports no
    existing files; use :func:`scan` to reconcile. After a root re-appears, every
    wanted file in it is reported.
    """

    def __init__(
        self,
        specs: Sequence[WatchSpec],
        on_file: Callable[[Path, WatchSpec], None],
        on_gone: Callable[[Path, WatchSpec], None],
        rearm_interval: float = 2.0,
        on_temp: Callable[[Path, WatchSpec], None] | None = None,
    ) -> None:
        self._specs = list(dict.fromkeys(specs))
        self._on_file, self._on_gone, self._on_temp = on_file, on_gone, on_temp
        self._rearm_interval = rearm_interval
        self._lock = threading.RLock()
        self._observers: dict[tuple[str, float], BaseObserver] = {}
        self._armed: dict[WatchSpec, _Armed] = {}
        self._down: set[WatchSpec] = set()  # missing or failing, already logged
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None

    def start(self) -> None:
        """Start watching every spec whose root exists, and the re-arm supervisor."""
        for spec in self._specs:
            error = self._arm(spec)
            if error:
                self._note_down(spec, error)
                continue
            mode = self._armed[spec].mode
            log.info("watch_started", path=str(spec.path), mode=mode, fstype=filesystem_type(spec.path))
        # A daemon like watchdog's own threads: a stat stuck on a dead NFS server must not
        # keep the process alive at exit. stop() still joins it.
        self._supervisor = threading.Thread(target=self._supervise, name="ingest-watch-rearm", daemon=True)
        self._supervisor.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop and join the supervisor and every observer thread (``timeout`` for each)."""
        self._stopping.set()
        threads: list[threading.Thread] = [self._supervisor] if self._supervisor else []
        with self._lock:
            observers = list(self._observers.values())
            self._observers.clear()
            self._armed.clear()
        for observer in observers:
            observer.stop()  # unschedules and joins its emitters
        for thread in [*threads, *observers]:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("watch_thread_stuck", thread=thread.name, timeout=timeout)

    def mode(self, spec: WatchSpec) -> str:
        """How ``spec`` is (or would now be) watched: "native" or "polling"."""
        armed = self._armed.get(spec)
        if armed:
            return armed.mode
        if spec.polling is not None:
            return "polling" if spec.polling else "native"
        return "polling" if is_network_fs(spec.path) else "native"

    # -- arming ---------------------------------------------------------------------

    def _observer(self, mode: str, interval: float) -> BaseObserver:
        """The running observer for a mode (polling observers: one per interval)."""
        key = (mode, interval if mode == "polling" else 0.0)
        if key not in self._observers:
            observer = PollingObserver(timeout=interval) if mode == "polling" else Observer()
            observer.name = f"ingest-watch-{mode}"
            observer.start()  # started empty, so a root that cannot be watched fails only its own schedule()
            self._observers[key] = observer
        return self._observers[key]

    def _arm(self, spec: WatchSpec) -> str | None:
        """Schedule ``spec``; None on success, else why not (``_MISSING`` for a missing root)."""
        identity = _identity(spec.path)
        if identity is None:
            return _MISSING
        error = "stopping"
        with self._lock:
            # An inotify failure (often the per-user watch limit) falls back to polling.
            for mode in ("native", "polling") if self.mode(spec) == "native" else ("polling",):
                if self._stopping.is_set():
                    break
                watched = os.path.realpath(spec.path)
                handler = _Handler(spec, watched, self._on_file, self._on_gone, self._on_temp)
                observer = self._observer(mode, spec.poll_interval)
                try:
                    watch = observer.schedule(handler, watched, recursive=spec.recursive, event_filter=EVENTS)
                except OSError as exc:
                    error = f"{mode}: {exc}"
                    continue
                self._armed[spec] = _Armed(observer, watch, identity, mode)
                return None
        return error

    def _disarm(self, spec: WatchSpec) -> None:
        with self._lock:
            armed = self._armed.pop(spec, None)
            if armed:
                with contextlib.suppress(KeyError):  # already gone when the observer stopped
                    armed.observer.unschedule(armed.watch)

    def _note_down(self, spec: WatchSpec, error: str) -> None:
        """Log once per outage that ``spec`` is not being watched."""
        if spec in self._down:
            return
        self._down.add(spec)
        if error == _MISSING:
            log.warning("watch_missing", path=str(spec.path))
        else:
            log.error("watch_failed", path=str(spec.path), error=error)

    # -- supervising ----------------------------------------------------------------

    def _supervise(self) -> None:
        while not self._stopping.wait(self._rearm_interval):
            for spec in self._specs:
                try:
                    self._check(spec)
                except Exception:
                    log.exception("watch_rearm_failed", path=str(spec.path))

    def _check(self, spec: WatchSpec) -> None:
        """Re-arm ``spec`` when its root is back, replaced, or its watch died."""
        armed = self._armed.get(spec)
        if armed and _emitter_alive(armed) and _identity(spec.path) == armed.identity:
            return
        if armed:
            self._disarm(spec)
        error = self._arm(spec)
        if error:
            self._note_down(spec, error)
            return
        self._down.discard(spec)
        log.info("watch_rearmed", path=str(spec.path), mode=self._armed[spec].mode)
        for path in scan(spec):
            if self._stopping.is_set():
                return
            self._on_file(path, spec)
