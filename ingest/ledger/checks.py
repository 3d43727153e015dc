"""Before a ledger is used: can this user write it, and can SQLite read it?

A state folder under a read-only parent or on a read-only mount, and a ledger file that
is not a database any more, are faults the daemon cannot work around: it refuses to
start (exit 2) with the path and the fix, instead of reporting ready and failing every
write, or a raw ``sqlite3.DatabaseError``.
"""

from __future__ import annotations

import getpass
import os
import sqlite3
import tempfile
from pathlib import Path

from ingest.errors import ConfigError


def require_writable(path: Path) -> None:
    """The state folder exists (made if need be) and this user can write the ledger in it:
    checked by writing, not guessed from permission bits (a read-only mount, root without
    its override). A ``ConfigError`` naming the folder and the fix, before any work."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".ingest-write-check.", dir=folder)
        os.close(handle)
        Path(probe).unlink()
        for existing in (p for p in (path, path.with_name(path.name + "-wal")) if p.exists()):
            with existing.open("ab"):
                pass
    except OSError as exc:
        where = exc.filename or folder
        user = getpass.getuser()
        raise ConfigError(
            f"state folder {folder}: cannot write the ledger there ({where}: {exc.strerror}). "
            f"Make it writable by {user} (chown -R {user} {folder}), or choose another with "
            "--state-dir, daemon.state_dir or INGEST_DAEMON__STATE_DIR"
        ) from None


def require_existing(path: Path) -> None:
    """For the commands that only read or requeue (``status``, ``retry``): a ledger that is
    not there is refused, never made, or a mistyped ``--state-dir`` would leave an empty
    ledger behind and report an empty library as if all were well."""
    if not path.is_file():
        raise ConfigError(
            f"no ledger at {path.absolute()}: is this the daemon's state folder? Check its daemon.state_dir "
            "(or INGEST_DAEMON__STATE_DIR) and pass the same with --state-dir; `ingest run` or `ingest scan` "
            "makes the ledger"
        )


def damaged(path: Path, exc: sqlite3.DatabaseError) -> str:
    """What to do with a ledger SQLite cannot read."""
    path = path.absolute()
    return (
        f"the ledger {path} is damaged ({exc}). Keep the damaged copy aside and start a fresh one: "
        f"mv '{path}' '{path}.damaged' (and its -wal and -shm files, if any), then start ingest again. "
        "It rescans the watched folders; files whose subtitles already exist are skipped with the reason, "
        "not transcribed again. `ingest doctor` checks a ledger's integrity"
    )


def integrity(path: Path) -> str | None:
    """SQLite's quick check of a ledger, read-only: None when sound, else what is wrong."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
        try:
            rows = [row[0] for row in db.execute("PRAGMA quick_check").fetchall()]
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return None if rows == ["ok"] else "; ".join(rows[:5])
