"""The ledger's tables, the statements its writes share, and the row helpers they use
(``ingest.ledger.sqlite`` holds the connection and the operations)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import structlog

from ingest.ledger.queries import State, key

log = structlog.get_logger("ingest.ledger.sqlite")  # these lines belong to the ledger's writes

SCHEMA_VERSION = 2

SCHEMA = (
    """CREATE TABLE files (
        path TEXT PRIMARY KEY,
        state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed', 'skipped')),
        attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, reason TEXT,
        owner TEXT, lease_until REAL, next_attempt_at REAL NOT NULL,
        size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, digest TEXT NOT NULL, watch TEXT,
        dirty INTEGER NOT NULL DEFAULT 0,  -- content changed while running: requeue on finish
        progress REAL NOT NULL DEFAULT 0, updated_at REAL NOT NULL)""",
    "CREATE INDEX files_queue ON files (state, next_attempt_at)",
    "CREATE TABLE outputs (path TEXT PRIMARY KEY, media TEXT NOT NULL, sha256 TEXT NOT NULL, written_at REAL NOT NULL)",
    "CREATE INDEX outputs_media ON outputs (media)",
)
# What each schema version adds to the one before it, applied in order to an older ledger
# (and to a new one after SCHEMA, which is version 1).
MIGRATIONS: dict[int, tuple[str, ...]] = {
    # Requests to the HTTP service: they go ahead of backfills (priority, higher first) and
    # carry the options they were asked with (JSON, ``options.with_overrides``); NULL for
    # watched files, which take theirs from the settings.
    2: (
        "ALTER TABLE files ADD COLUMN priority INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE files ADD COLUMN options TEXT",
        "CREATE INDEX files_claim ON files (state, priority DESC, next_attempt_at)",
    ),
}

# New content (or a user's retry) starts over: a fresh attempt count, no old error.
REQUEUE = """UPDATE files SET state = 'pending', attempts = 0, last_error = NULL, reason = NULL,
    owner = NULL, lease_until = NULL, dirty = 0, progress = 0, next_attempt_at = :now, updated_at = :now
    WHERE path = :path"""
# A job handed back unfinished keeps its attempts and its place in the queue.
HAND_BACK = """UPDATE files SET state = 'pending', owner = NULL, lease_until = NULL, progress = 0,
    next_attempt_at = MIN(next_attempt_at, :now), updated_at = :now WHERE path = :path"""
# The highest priority first (a request ahead of a backfill), then the row that has been
# eligible longest; rowid breaks ties in arrival order. A running job is never taken back.
NEXT_PENDING = """SELECT * FROM files WHERE state = 'pending' AND next_attempt_at <= ?
    ORDER BY priority DESC, next_attempt_at, rowid LIMIT 1"""
NEXT_PENDING_UNDER = """SELECT * FROM files WHERE state = 'pending' AND next_attempt_at <= ?
    AND (path = ? OR (path >= ? AND path < ?) OR (path >= ? AND path < ?))
    ORDER BY priority DESC, next_attempt_at, rowid LIMIT 1"""
# A request's job: new, or (failed before) queued afresh; one pending, running or finished is shared.
SUBMIT = """INSERT INTO files (path, state, next_attempt_at, size, mtime_ns, digest, updated_at, priority, options)
    VALUES (:path, 'pending', :now, :size, :mtime_ns, :digest, :now, :priority, :options)
    ON CONFLICT (path) DO UPDATE SET state = 'pending', attempts = 0, last_error = NULL, reason = NULL,
    owner = NULL, lease_until = NULL, dirty = 0, progress = 0, next_attempt_at = :now, updated_at = :now,
    priority = :priority, options = :options
    WHERE state = 'failed'"""
FINISH = """UPDATE files SET state = :state, attempts = :attempts, last_error = :error, reason = :reason,
    next_attempt_at = :next_at, owner = NULL, lease_until = NULL, progress = :progress, updated_at = :now
    WHERE path = :path"""
RECORD_OUTPUT = """INSERT INTO outputs (path, media, sha256, written_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (path) DO UPDATE SET media = excluded.media, sha256 = excluded.sha256,
    written_at = excluded.written_at"""
# A file seen but not readable (permissions, a share's I/O error): failed with the reason,
# its digest unknown (''), so once readable its content counts as new and it starts over.
NOTE_UNREADABLE = """INSERT INTO files
    (path, state, last_error, next_attempt_at, size, mtime_ns, digest, watch, updated_at)
    VALUES (:path, 'failed', :error, :now, :size, :mtime_ns, '', :watch, :now)
    ON CONFLICT (path) DO UPDATE SET state = 'failed', last_error = :error, reason = NULL, digest = '',
    size = :size, mtime_ns = :mtime_ns, updated_at = :now
    WHERE state != 'running' AND (size != :size OR mtime_ns != :mtime_ns OR digest = '')"""


def upgrade(db: sqlite3.Connection, version: int) -> None:
    """Bring a ledger at schema ``version`` (0: a new, empty file) to ``SCHEMA_VERSION``,
    inside the caller's write transaction: a crash halfway leaves the old schema whole."""
    if version == 0:
        for statement in SCHEMA:
            db.execute(statement)
    for step in range(max(version, 1) + 1, SCHEMA_VERSION + 1):
        for statement in MIGRATIONS[step]:
            db.execute(statement)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def held(db: sqlite3.Connection, path: Path, owner: str, action: str) -> sqlite3.Row | None:
    """The row if ``owner`` still holds its lease; otherwise log and return None, so a job
    whose lease was taken over never overwrites the new owner's state."""
    row = db.execute("SELECT * FROM files WHERE path = ?", (key(path),)).fetchone()
    if row is None or row["state"] != "running" or row["owner"] != owner:
        log.warning("ledger_lease_lost", path=str(path), owner=owner, action=action)
        return None
    return row


def hand_back(db: sqlite3.Connection, row: sqlite3.Row, now: float) -> None:
    # Content that changed while running is new work: it starts over like a new file.
    db.execute(REQUEUE if row["dirty"] else HAND_BACK, {"path": row["path"], "now": now})


def finish(db: sqlite3.Connection, row: sqlite3.Row, now: float, state: State, **values: Any) -> State:
    """End a run in ``state`` (``values`` override the FINISH defaults); return the state now."""
    if row["dirty"]:  # the result is for content that no longer exists
        db.execute(REQUEUE, {"path": row["path"], "now": now})
        return "pending"
    params = {"attempts": row["attempts"], "error": None, "reason": None, "next_at": now, "progress": 0.0}
    db.execute(FINISH, params | values | {"state": state, "now": now, "path": row["path"]})
    return state
