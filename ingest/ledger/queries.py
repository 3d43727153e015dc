"""Reading the ledger: the entries, counts and output records every view needs.

``Ledger`` (``ingest.ledger``) adds the writes; ``ingest status`` needs only these.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal

from ingest.ledger.fingerprint import Fingerprint, sha256_of
from ingest.paths import printable

State = Literal["pending", "running", "done", "failed", "skipped"]
STATES: tuple[State, ...] = ("pending", "running", "done", "failed", "skipped")


@dataclass(frozen=True)
class Entry:
    """One media file as the ledger knows it.

    ``updated_at`` is when the row last changed state; ``progress`` (0..1) is what the
    worker last reported through ``renew``; ``outputs`` are the files ingest wrote for it.
    ``priority`` and ``options`` are set for the jobs of HTTP requests (``Ledger.submit``).
    """

    path: Path
    state: State
    attempts: int
    last_error: str | None
    reason: str | None
    owner: str | None
    lease_until: float | None
    next_attempt_at: float
    fingerprint: Fingerprint
    watch: str | None
    updated_at: float
    progress: float
    outputs: tuple[Path, ...]
    priority: int = 0  # higher is claimed first: requests to the HTTP service go ahead of backfills
    options: str | None = None  # a request's own job options (JSON); None: from the settings


# Entry fields stored in a column of their own name; the others are built from several.
COLUMNS = tuple(f.name for f in fields(Entry) if f.name not in {"path", "fingerprint", "outputs"})


# A path at or below a folder (here and in ledger.NEXT_PENDING_UNDER): every string that
# starts with "/a/b/" sorts in ["/a/b/", "/a/b0"), so this is a range scan on the primary
# key, and exact (LIKE would fold case and treat % and _ specially). Names that are not
# UTF-8 are stored as BLOBs, which sort after all text: the second range finds those.
KNOWN = "SELECT path FROM files WHERE path = ? OR (path >= ? AND path < ?) OR (path >= ? AND path < ?)"


def key(path: Path | str) -> str | bytes:
    """A path as the ledger stores it: its text, or the raw bytes of a name that is not
    UTF-8 (SQLite cannot take Python's surrogates), so such a file is known like any other."""
    text = str(path)
    return text if printable(text) else os.fsencode(text)


def path_of(value: str | bytes) -> Path:
    """A stored ``key`` back to the path it came from."""
    return Path(os.fsdecode(value) if isinstance(value, bytes) else value)


def under_params(folder: Path) -> tuple[str | bytes, ...]:
    """The parameters of ``KNOWN``'s condition: the folder itself, then its text and byte ranges."""
    base = str(folder)
    prefix = base if base.endswith("/") else base + "/"
    after = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return key(base), key(prefix), key(after), os.fsencode(prefix), os.fsencode(after)


class Queries:
    """The read side of the ledger; the class using it provides ``_read()``."""

    def _read(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def get(self, path: Path) -> Entry | None:
        """The entry for ``path``, or None if the ledger has never seen it (or forgot it)."""
        entries = self._entries("SELECT * FROM files WHERE path = ?", (key(path),))
        return entries[0] if entries else None

    def known(self, under: Path) -> set[Path]:
        """Every file the ledger knows at or below the folder ``under``."""
        with self._read() as db:
            rows = db.execute(KNOWN, under_params(under)).fetchall()
        return {path_of(row["path"]) for row in rows}

    def counts(self) -> dict[str, int]:
        """How many files are in each state; every state is present, zero for none."""
        with self._read() as db:
            rows = db.execute("SELECT state, COUNT(*) FROM files GROUP BY state").fetchall()
        return dict.fromkeys(STATES, 0) | {state: count for state, count in rows}

    def running(self) -> list[Entry]:
        """The jobs running now, longest-running first."""
        return self._entries("SELECT * FROM files WHERE state = 'running' ORDER BY updated_at, rowid")

    def failures(self, limit: int = 10) -> list[Entry]:
        """Files that failed for good, most recent first."""
        return self._by_state("failed", limit)

    def retrying(self, limit: int = 10) -> list[Entry]:
        """Files that failed and wait for another attempt (pending, with the last error), soonest first."""
        sql = (
            "SELECT * FROM files WHERE state = 'pending' AND last_error IS NOT NULL"
            " ORDER BY next_attempt_at, rowid LIMIT ?"
        )
        return self._entries(sql, (limit,))

    def skipped(self, limit: int = 10) -> list[Entry]:
        """Skipped files, most recent first."""
        return self._by_state("skipped", limit)

    def owned_output(self, path: Path) -> bool:
        """True iff ingest wrote ``path`` and its content is still exactly what ingest wrote."""
        with self._read() as db:
            row = db.execute("SELECT sha256 FROM outputs WHERE path = ?", (key(path),)).fetchone()
        if row is None:
            return False
        try:
            return sha256_of(path) == row["sha256"]
        except OSError:  # gone or unreadable: there is nothing of ours to overwrite
            return False

    def outputs_of(self, media: Path) -> list[Path]:
        """The files ingest recorded writing for ``media``."""
        with self._read() as db:
            return list(_outputs(db, key(media)))

    def _by_state(self, state: State, limit: int) -> list[Entry]:
        sql = "SELECT * FROM files WHERE state = ? ORDER BY updated_at DESC, rowid DESC LIMIT ?"
        return self._entries(sql, (state, limit))

    def _entries(self, sql: str, params: Sequence[Any] = ()) -> list[Entry]:
        with self._read() as db:
            return [entry_from_row(db, row) for row in db.execute(sql, params).fetchall()]


def _outputs(db: sqlite3.Connection, media: str | bytes) -> tuple[Path, ...]:
    rows = db.execute("SELECT path FROM outputs WHERE media = ? ORDER BY path", (media,)).fetchall()
    return tuple(path_of(row["path"]) for row in rows)


def entry_from_row(db: sqlite3.Connection, row: sqlite3.Row) -> Entry:
    fp = Fingerprint(row["size"], row["mtime_ns"], row["digest"])
    fields = {name: row[name] for name in COLUMNS}
    if isinstance(fields["watch"], bytes):
        fields["watch"] = os.fsdecode(fields["watch"])
    return Entry(path=path_of(row["path"]), fingerprint=fp, outputs=_outputs(db, row["path"]), **fields)
