"""Reconciling: the ledger brought up to date with what is on disk.

At start and after a reload each watch is walked once: files new or changed since the
ledger last saw them go to their settler (and on to a job), files gone from disk leave
the ledger, and temporary files of writes cut short by a kill -9 are removed. Jobs left
running by a process that died are taken back first.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import structlog

from ingest.daemon.mediafiles import WatchSpec, scan
from ingest.daemon.settle import Settler
from ingest.daemon.worker import Shared
from ingest.ledger.sqlite import Entry, Ledger
from ingest.settings import options
from ingest.subtitles import outputs

log = structlog.get_logger(__name__)


def reconcile(shared: Shared, settlers: dict[str, Settler[WatchSpec]], watches: list[WatchSpec]) -> None:
    """Each watch against the ledger: new, changed and deleted files."""
    for spec in watches:
        started, seen = time.monotonic(), set()
        for path in scan(spec):
            if shared.stopping.is_set():
                return
            seen.add(path)
            if changed_since(shared.ledger.get(path), path):
                settlers[spec.key].touch(path, spec)
        gone = shared.ledger.known(spec.path) - seen
        for path in gone:
            shared.ledger.forget(path)
        remove_orphans(shared, spec)
        log.info(
            "watch_reconciled",
            watch=str(spec.path),
            files=len(seen),
            gone=len(gone),
            seconds=round(time.monotonic() - started, 3),
        )


def remove_orphans(shared: Shared, spec: WatchSpec) -> None:
    """Temp files of writes cut short by a kill -9, in the watch and its output folder."""
    folders = {spec.path, options.job_options(shared.settings, spec.path / "x").output_dir}
    for folder in filter(None, folders):
        for tmp in outputs.remove_orphans(folder):
            log.info("orphan_removed", file=str(tmp))


def changed_since(entry: Entry | None, path: Path) -> bool:
    """Whether ``path`` is new, or its size or mtime differ from the ledger's ``entry`` for it."""
    if entry is None:
        return True
    try:
        stat = path.stat()
    except OSError:
        return False
    return (stat.st_size, stat.st_mtime_ns) != (entry.fingerprint.size, entry.fingerprint.mtime_ns)


def take_back_orphans(ledger: Ledger) -> None:
    """Jobs left running by a process that died (kill -9, power loss) go back to pending."""
    for entry in ledger.running():
        if entry.owner and owner_dead(entry.owner):
            ledger.release(entry.path, entry.owner)
            log.info("job_taken_back", file=str(entry.path), owner=entry.owner)
    ledger.reclaim_expired()


def owner_dead(owner: str) -> bool:
    """Whether the ``host:pid:worker`` that holds a job is a process of this host that is gone."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's worker: its lease expiry decides
    if int(pid) == os.getpid():
        return True  # our own pid from a previous life (pid reuse after reboot)
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
