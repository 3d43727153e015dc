"""One ledger per watched folder: a lock file in each root, held while the daemon runs.

Two daemons with different state folders on one library would both transcribe every
file, and each would record the other's sidecars as a user's. Each daemon holds a shared
``flock`` on ``<root>/.ingest.lock`` whose text names its ledger; a daemon with another
ledger finds the lock held and refuses, naming the holder. Daemons sharing one ledger
(one state folder, or containers with the same volume) share the lock. The kernel drops a
lock with its process, so a kill -9 leaves nothing stale. A root this user cannot write
(media read-only, sidecars elsewhere) cannot be locked: that is logged, not refused.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
from pathlib import Path

import structlog

from ingest.errors import ConfigError

log = structlog.get_logger(__name__)
LOCK_NAME = ".ingest.lock"
_JOIN_TRIES = 20  # the holder has the lock exclusively only while it writes its name: moments


def ledger_id(ledger: Path) -> str:
    """The ledger file itself (device and inode), the same whatever path a container mounts it at."""
    st = ledger.stat()
    return f"{st.st_dev}:{st.st_ino}"


class RootLocks:
    """The locks this daemon holds, one per watched root."""

    def __init__(self, ledger: Path) -> None:
        self.ledger = ledger
        self._id = ledger_id(ledger)
        self._held: dict[Path, int] = {}

    def take(self, root: Path) -> None:
        """Hold ``root``'s lock; ``ConfigError`` when a daemon with another ledger holds it."""
        if root in self._held:
            return
        fd = -1
        try:
            fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
            self._lock(fd, root)
        except OSError as exc:  # read-only, full, or a filesystem without locks: work on, unguarded
            log.info("watch_lock_unavailable", watch=str(root), error=exc.strerror or str(exc))
            if fd >= 0:
                os.close(fd)
            return
        except BaseException:
            os.close(fd)
            raise
        self._held[root] = fd

    def release(self) -> None:
        """Let every lock go (the file stays: removing it would race a daemon taking it)."""
        for fd in self._held.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._held.clear()

    def _lock(self, fd: int, root: Path) -> None:
        for _ in range(_JOIN_TRIES):
            if _try(fd, fcntl.LOCK_EX):  # nobody holds it: ours to name
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{self._id}\n{self.ledger}\n{socket.gethostname()} pid {os.getpid()}\n".encode(), 0)
                fcntl.flock(fd, fcntl.LOCK_SH)
                return
            holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").splitlines()
            if holder and holder[0] != self._id:
                raise ConfigError(refusal(root, holder))
            if holder and _try(fd, fcntl.LOCK_SH):  # a daemon on our own ledger: share the folder
                return
            time.sleep(0.05)  # the holder is writing its name
        raise ConfigError(f"{root}: cannot take {LOCK_NAME} (held, but nobody names a ledger in it)")


def _try(fd: int, how: int) -> bool:
    try:
        fcntl.flock(fd, how | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def refusal(root: Path, holder: list[str]) -> str:
    ledger = holder[1] if len(holder) > 1 else "another ledger"
    who = holder[2] if len(holder) > 2 else "another process"
    return (
        f"{root} is already watched by an ingest daemon with another ledger ({ledger}; {who}). "
        "Two ledgers on one folder transcribe every file twice. Stop that daemon, or give this one "
        "the same state folder (daemon.state_dir / --state-dir): daemons sharing a ledger share the work"
    )
