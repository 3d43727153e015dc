"""The ledger: a SQLite (WAL) record of every media file ingest has seen.

It is what makes the daemon restartable. A file is ``pending``, ``running`` (leased to
one worker until ``lease_until``), ``done``, ``failed`` or ``skipped``; every change is
one short write transaction, so a crash loses nothing and no file runs twice. The
``outputs`` table remembers each file ingest wrote and its sha256, so ingest only ever
overwrites files that are still exactly what it wrote.

One connection serves every thread behind a lock; other processes (``ingest status``
beside the daemon) share the file through WAL and a busy timeout.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import structlog

from ingest.errors import ConfigError, IngestError, NotRegularFile
from ingest.ledger.checks import damaged, require_writable
from ingest.ledger.fingerprint import Fingerprint, fingerprint, sha256_of
from ingest.ledger.queries import STATES, Entry, Queries, State, entry_from_row, key, path_of, under_params
from ingest.ledger.schema import (
    NEXT_PENDING,
    NEXT_PENDING_UNDER,
    NOTE_UNREADABLE,
    RECORD_OUTPUT,
    REQUEUE,
    SCHEMA_VERSION,
    SUBMIT,
    finish,
    hand_back,
    held,
    upgrade,
)
from ingest.paths import shown

__all__ = ["STATES", "Entry", "Fingerprint", "Ledger", "State", "fingerprint"]

log = structlog.get_logger(__name__)

# Long enough that `ingest status` or a second daemon waits out a write instead of failing.
BUSY_TIMEOUT_MS = 30_000


class Ledger(Queries):
    """The record of every file: safe from several threads and several processes at once."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock
        self._lock = threading.Lock()
        require_writable(path)
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so a write takes the
        # database's write lock before it reads and two processes never claim the same row.
        self._db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
        try:
            self._setup()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                raise
            raise ConfigError(damaged(path, exc)) from None
        except BaseException:
            self._db.close()
            raise

    def _setup(self) -> None:
        self._db.row_factory = sqlite3.Row
        self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":  # e.g. a filesystem without shared memory: still correct, but readers block
            log.warning("ledger_not_wal", path=str(self.path), journal_mode=mode)
        # NORMAL is durable across process crashes in WAL mode; only power loss may drop
        # the last commits, which then run again rather than being lost half-done.
        self._db.execute("PRAGMA synchronous = NORMAL")
        with self._write() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise IngestError(
                    f"{self.path}: ledger schema {version} is newer than this ingest understands "
                    f"({SCHEMA_VERSION}); upgrade ingest or use another state folder"
                )
            if version < SCHEMA_VERSION:
                upgrade(db, version)
            if 0 < version < SCHEMA_VERSION:
                log.info("ledger_schema_upgraded", path=str(self.path), old=version, new=SCHEMA_VERSION)

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        # One read transaction, so a row and its outputs come from the same snapshot.
        with self._lock:
            self._db.execute("BEGIN")
            try:
                yield self._db
            finally:
                self._db.execute("COMMIT")

    def observe(self, path: Path, fp: Fingerprint, watch: str | None = None) -> bool:
        """Record that ``path`` exists with content ``fp``; True when it (re)needs processing.

        A touch (same size and digest) only stores the new mtime. Changed content goes
        back to pending with a fresh attempt count; while a worker runs it, the row is
        marked dirty and the worker's ``finish_*`` puts it back to pending instead.
        """
        key_, now = key(path), self._clock()
        with self._write() as db:
            row = db.execute("SELECT state, size, digest FROM files WHERE path = ?", (key_,)).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO files (path, state, next_attempt_at, size, mtime_ns, digest, watch, updated_at)"
                    " VALUES (?, 'pending', ?, ?, ?, ?, ?, ?)",
                    (key_, now, fp.size, fp.mtime_ns, fp.digest, key(watch) if watch else None, now),
                )
                return True
            db.execute(
                "UPDATE files SET size = ?, mtime_ns = ?, digest = ?, watch = COALESCE(?, watch) WHERE path = ?",
                (fp.size, fp.mtime_ns, fp.digest, key(watch) if watch else None, key_),
            )
            if row["size"] == fp.size and row["digest"] == fp.digest:
                return False
            if row["state"] == "running":
                db.execute("UPDATE files SET dirty = 1 WHERE path = ?", (key_,))
            else:
                db.execute(REQUEUE, {"path": key_, "now": now})
        log.info("ledger_content_changed", path=str(path), running=row["state"] == "running")
        return True

    def look(self, path: Path, watch: str | None = None) -> bool:
        """Fingerprint ``path`` and ``observe`` it; True when it (re)needs processing.

        A file that cannot be read is recorded failed with the reason, for ``ingest
        status`` (a log line alone is lost); a file that is gone again is nothing.
        """
        try:
            fp = fingerprint(path)
        except (FileNotFoundError, NotADirectoryError):
            return False
        except OSError as exc:
            error = str(exc) if isinstance(exc, NotRegularFile) else f"{path}: cannot read: {exc.strerror or exc}"
            log.warning("file_unreadable", file=str(path), error=error)
            self.note_unreadable(path, error, watch)
            return False
        return self.observe(path, fp, watch)

    def note_unreadable(self, path: Path, error: str, watch: str | None = None) -> None:
        """Record ``path`` as failed with ``error``, unless it runs or the ledger already
        knows this very content (a finished file made unreadable later stays finished)."""
        try:
            st = path.stat()
            size, mtime_ns = st.st_size, st.st_mtime_ns
        except OSError:
            size, mtime_ns = -1, -1
        params = {"path": key(path), "error": shown(error), "now": self._clock(), "size": size, "mtime_ns": mtime_ns}
        with self._write() as db:
            db.execute(NOTE_UNREADABLE, params | {"watch": None if watch is None else key(watch)})

    def submit(self, path: Path, fp: Fingerprint, priority: int, options: str) -> State:
        """Queue a request's job at ``path`` with its ``options`` (JSON) and ``priority``,
        unless the same job is already queued, running or finished: then it is shared. One
        that failed is queued afresh. Returns the state the job is in now."""
        params = {"path": key(path), "now": self._clock(), "size": fp.size, "mtime_ns": fp.mtime_ns}
        params |= {"digest": fp.digest, "priority": priority, "options": options}
        with self._write() as db:
            db.execute(SUBMIT, params)
            state: State = db.execute("SELECT state FROM files WHERE path = ?", (key(path),)).fetchone()[0]
        return state

    def forget_unless_running(self, path: Path) -> bool:
        """Drop ``path``'s row unless a worker holds it, in one write (a check and a separate
        ``forget`` would let a claim slip between them). True when no row is left."""
        with self._write() as db:
            db.execute("DELETE FROM files WHERE path = ? AND state != 'running'", (key(path),))
            return db.execute("SELECT 1 FROM files WHERE path = ?", (key(path),)).fetchone() is None

    def prioritize(self, path: Path, priority: int, options: str | None = None) -> bool:
        """Raise a pending row's ``priority`` (a watched file a request asks for), with the
        request's ``options`` (JSON) when it gave any; a running or finished row is left alone."""
        sql = "UPDATE files SET priority = ?, options = COALESCE(?, options) WHERE path = ? AND state = 'pending'"
        with self._write() as db:
            return bool(db.execute(sql, (priority, options, key(path))).rowcount)

    def claim(self, owner: str, lease_seconds: float, under: Path | None = None) -> Entry | None:
        """Lease the pending file that is due with the highest priority, the oldest of those
        (at or below ``under``, when given)."""
        with self._write() as db:
            now = self._clock()
            row = _next_pending(db, now, under)
            if row is None:
                return None
            db.execute(
                "UPDATE files SET state = 'running', owner = ?, lease_until = ?, progress = 0, updated_at = ?"
                " WHERE path = ?",
                (owner, now + lease_seconds, now, row["path"]),
            )
            return entry_from_row(db, db.execute("SELECT * FROM files WHERE path = ?", (row["path"],)).fetchone())

    def next_priority(self, under: Path | None = None) -> int | None:
        """The priority of the job ``claim`` would lease now (None: nothing is due): a worker
        holding a prepared job of lower priority hands it back for this one."""
        with self._read() as db:
            row = _next_pending(db, self._clock(), under)
        return None if row is None else int(row["priority"])

    def renew(self, path: Path, owner: str, lease_seconds: float, progress: float | None = None) -> bool:
        """Extend ``owner``'s lease (and store progress); False if the lease is not ours any more."""
        now = self._clock()
        with self._write() as db:
            changed = db.execute(
                "UPDATE files SET lease_until = ?, progress = COALESCE(?, progress)"
                " WHERE path = ? AND state = 'running' AND owner = ?",
                (now + lease_seconds, progress, key(path), owner),
            ).rowcount
        if not changed:
            log.warning("ledger_lease_lost", path=str(path), owner=owner, action="renew")
        return bool(changed)

    def release(self, path: Path, owner: str) -> None:
        """Hand a running job back unfinished (shutdown): pending, attempts unchanged, due at once."""
        now = self._clock()
        with self._write() as db:
            if (row := held(db, path, owner, "release")) is not None:
                hand_back(db, row, now)

    def finish_done(self, path: Path, owner: str, outputs: Sequence[Path]) -> None:
        """Mark the job done and record each output with the sha256 of its content now.

        The outputs are recorded even when the lease was lost: ingest did write those
        bytes, and the job that took over must be free to overwrite them.
        """
        hashes = _hashes(outputs)  # before the write lock: disk reads never hold up other writers
        now = self._clock()
        with self._write() as db:
            db.executemany(RECORD_OUTPUT, [(key(out), key(path), digest, now) for out, digest in hashes])
            if (row := held(db, path, owner, "finish_done")) is not None:
                finish(db, row, now, "done", progress=1.0)

    def finish_skipped(self, path: Path, owner: str, reason: str) -> None:
        """Mark the job skipped, with the reason a user will see in ``ingest status``."""
        now = self._clock()
        with self._write() as db:
            if (row := held(db, path, owner, "finish_skipped")) is not None:
                finish(db, row, now, "skipped", reason=shown(reason))

    def finish_failed(
        self, path: Path, owner: str, error: str, max_attempts: int, backoff: Callable[[int], float]
    ) -> str:
        """Count a failed attempt: ``"pending"`` again after ``backoff(attempts)`` seconds while
        attempts < ``max_attempts``, else ``"failed"``. ``"lost"`` if the lease was not ours."""
        now = self._clock()
        with self._write() as db:
            if (row := held(db, path, owner, "finish_failed")) is None:
                return "lost"
            attempts = row["attempts"] + 1
            if not is_last(attempts, max_attempts):
                delay = backoff(attempts)
                return finish(db, row, now, "pending", attempts=attempts, error=shown(error), next_at=now + delay)
            return finish(db, row, now, "failed", attempts=attempts, error=shown(error))

    def reclaim_expired(self) -> list[Path]:
        """Put running jobs whose lease ran out (their worker died) back to pending."""
        now = self._clock()
        with self._write() as db:
            rows = db.execute("SELECT * FROM files WHERE state = 'running' AND lease_until < ?", (now,)).fetchall()
            for row in rows:
                hand_back(db, row, now)
        if rows:
            log.info("ledger_reclaimed", count=len(rows), paths=[shown(path_of(row["path"])) for row in rows])
        return [path_of(row["path"]) for row in rows]

    def forget(self, path: Path) -> None:
        """The media file is gone: drop its row. Its outputs rows stay; they prove ownership."""
        with self._write() as db:
            db.execute("DELETE FROM files WHERE path = ?", (key(path),))

    def retry(self, path: Path | None = None, *, failed: bool = False) -> int:
        """Make one path (or, with ``failed``, every failed file) pending with a fresh attempt
        count, due now. Running jobs are left alone unless their lease ran out (their owner
        died). Returns how many rows changed."""
        if path is None and not failed:
            raise ValueError("retry needs a path or failed=True")
        now = self._clock()
        with self._write() as db:
            sql = (
                "SELECT path FROM files WHERE (state != 'running' OR lease_until < ?)"
                " AND (? IS NULL OR path = ?) AND (? = 0 OR state = ?)"
            )
            wanted = None if path is None else key(path)
            rows = db.execute(sql, (now, wanted, wanted, failed, "failed")).fetchall()
            for row in rows:
                db.execute(REQUEUE, {"path": row["path"], "now": now})
        return len(rows)


def is_last(attempt: int, max_attempts: int) -> bool:
    """Whether attempt number ``attempt`` (counting from 1) is the last one a file gets."""
    return attempt >= max_attempts


def _hashes(outputs: Sequence[Path]) -> list[tuple[Path, str]]:
    hashes = []
    for out in outputs:
        try:
            hashes.append((Path(out), sha256_of(out)))
        except OSError as exc:  # deleted in the meantime: the job is still done, the file is not ours
            log.warning("ledger_output_missing", path=str(out), error=str(exc))
    return hashes


def _next_pending(db: sqlite3.Connection, now: float, under: Path | None) -> sqlite3.Row | None:
    """The row ``claim`` takes next: due, the highest priority, the oldest (at or below ``under``)."""
    if under is None:
        row: sqlite3.Row | None = db.execute(NEXT_PENDING, (now,)).fetchone()
    else:
        row = db.execute(NEXT_PENDING_UNDER, (now, *under_params(under))).fetchone()
    return row
