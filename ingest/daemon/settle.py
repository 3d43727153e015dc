"""Settling: a file becomes a job only once it stops changing.

Watch callbacks ``touch()`` a path on every event; a single loop calls ``due()``
a few times a second. A candidate is checked only after ``settle_seconds`` without
events, and it settles only when its size and mtime are the same as at a check at
least ``settle_seconds`` earlier. The stat comparison, not the absence of events,
decides: a copy over SMB can stall for seconds without a single event, and polling
observers report changes on their own schedule.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG
from typing import Generic, TypeVar

import structlog

from ingest.errors import file_kind

log = structlog.get_logger(__name__)

Signature = tuple[int, int]  # (st_size, st_mtime_ns)
_GONE: Signature = (-1, -1)  # no real file has a negative size
C = TypeVar("C")  # what the caller keeps with a path (the daemon: its watch)


@dataclass(frozen=True, slots=True)
class _Candidate(Generic[C]):
    """One path waiting to settle; replaced (never mutated) so ``due()`` can spot a re-touch."""

    since: float  # start of the quiet timer: the last touch, or the last check that saw a change
    context: C | None
    seen: Signature | None = None  # what the last check saw; None before the first check


class Settler(Generic[C]):
    """Debounces paths until their size and mtime stop changing.

    ``touch()`` is safe to call from any thread and does no I/O; ``due()``, which
    stats files, is meant for one loop only.
    """

    def __init__(
        self,
        settle_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        stat: Callable[[Path], os.stat_result] = os.stat,
    ) -> None:
        if settle_seconds < 0:
            raise ValueError(f"settle_seconds must be >= 0, got {settle_seconds}")
        self._settle = settle_seconds
        self._clock = clock
        self._stat = stat
        self._lock = threading.Lock()
        self._candidates: dict[Path, _Candidate[C]] = {}

    def touch(self, path: Path, context: C | None = None) -> None:
        """Note activity on ``path``: (re)start its quiet timer and keep ``context`` with it."""
        now = self._clock()
        with self._lock:
            old = self._candidates.get(path)
            self._candidates[path] = _Candidate(now, context, old.seen if old else None)

    def forget(self, path: Path) -> None:
        """Stop tracking ``path`` (it was deleted or moved away)."""
        with self._lock:
            self._candidates.pop(path, None)

    def pending(self) -> int:
        """How many paths are waiting to settle."""
        with self._lock:
            return len(self._candidates)

    def due(self) -> list[tuple[Path, C | None]]:
        """Paths that have settled since the last call, each with its context, oldest first.

        Files that vanished are dropped silently; files still changing restart their timer.
        """
        now = self._clock()
        with self._lock:
            quiet = [(p, c) for p, c in self._candidates.items() if now - c.since >= self._settle]
        # Stat outside the lock: on a network share it can take a while, and touch() must not wait.
        settled = []
        for path, cand in sorted(quiet, key=lambda item: item[1].since):
            if self._check(path, cand, now):
                settled.append((path, cand.context))
        return settled

    def _check(self, path: Path, cand: _Candidate[C], now: float) -> bool:
        """Stat one quiet candidate and update it; True when it settled (and was removed)."""
        sig = self._signature(path)
        with self._lock:
            if self._candidates.get(path) is not cand:
                return False  # touched or forgotten while we were stat-ing: the newer state wins
            if sig == _GONE:
                del self._candidates[path]
                log.debug("settle_dropped", path=str(path))
                return False
            if sig is not None and sig == cand.seen:
                del self._candidates[path]
                return True
            self._candidates[path] = _Candidate(now, cand.context, sig)
            return False

    def _signature(self, path: Path) -> Signature | None:
        """(size, mtime_ns); ``_GONE`` when the file is gone; None when it cannot be read now."""
        try:
            st = self._stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return _GONE
        except OSError as exc:
            # A share that hiccups (EIO, ESTALE, EHOSTDOWN) proves nothing either way:
            # forget what we saw, so the file waits for two good checks in a row.
            log.warning("settle_stat_failed", path=str(path), error=str(exc))
            return None
        if not S_ISREG(st.st_mode):  # a FIFO or socket left by a download tool: never opened
            log.warning("not_media", path=str(path), reason=f"not a regular file ({file_kind(st.st_mode)})")
            return _GONE
        return (st.st_size, st.st_mtime_ns)
