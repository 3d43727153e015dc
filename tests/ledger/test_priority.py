"""Requests' jobs in the ledger: claimed ahead of backfills, never pre-empting a running job,
shared when identical, queued afresh after a failure; and a version-1 ledger upgraded in place."""

from __future__ import annotations

import hashlib
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from ingest.ledger.schema import SCHEMA
from ingest.ledger.sqlite import SCHEMA_VERSION, Fingerprint, Ledger

LEASE = 60.0
OPTIONS = '{"language": "en"}'


def fp(content: str) -> Fingerprint:
    return Fingerprint(100, 1, hashlib.blake2b(content.encode(), digest_size=16).hexdigest())


@pytest.fixture
def ledger(tmp_path: Path):
    with Ledger(tmp_path / "ledger.sqlite3") as led:
        yield led


def test_a_request_goes_ahead_of_a_backfill_but_never_pre_empts_a_running_job(ledger: Ledger, tmp_path: Path):
    backfill = [tmp_path / f"lib/ep{n}.mkv" for n in range(3)]
    for n, path in enumerate(backfill):
        ledger.observe(path, fp(f"ep{n}"))
    running = ledger.claim("w0", LEASE)
    assert running is not None and running.path == backfill[0]
    request = tmp_path / "server/jobs/abc/media.wav"
    assert ledger.submit(request, fp("upload"), 10, OPTIONS) == "pending"
    assert ledger.get(backfill[0]).state == "running"  # not taken back for the request
    first = ledger.claim("w1", LEASE)
    assert first is not None and (first.path, first.priority, first.options) == (request, 10, OPTIONS)
    after = ledger.claim("w1", LEASE)
    assert after is not None and after.path == backfill[1]  # then the backfill, in its order


def test_an_identical_request_shares_the_job_and_a_failed_one_is_queued_afresh(ledger: Ledger, tmp_path: Path):
    request = tmp_path / "server/jobs/abc/media.wav"
    assert ledger.submit(request, fp("upload"), 10, OPTIONS) == "pending"
    entry = ledger.claim("w0", LEASE)
    assert entry is not None
    assert ledger.submit(request, fp("upload"), 10, OPTIONS) == "running"  # joined, not queued twice
    ledger.finish_failed(request, "w0", "boom", 1, lambda _: 0.0)
    assert ledger.get(request).state == "failed"
    assert ledger.submit(request, fp("upload"), 10, OPTIONS) == "pending"
    again = ledger.get(request)
    assert (again.attempts, again.last_error) == (0, None)
    ledger.claim("w0", LEASE)
    ledger.finish_done(request, "w0", [])
    assert ledger.submit(request, fp("upload"), 10, OPTIONS) == "done"  # kept: the client gets it


def test_a_version_1_ledger_is_upgraded_in_place_and_keeps_its_rows(tmp_path: Path):
    path = tmp_path / "ledger.sqlite3"
    with closing(sqlite3.connect(path)) as raw:
        for statement in SCHEMA:
            raw.execute(statement)
        raw.execute(
            "INSERT INTO files (path, state, next_attempt_at, size, mtime_ns, digest, updated_at)"
            " VALUES ('/lib/a.mkv', 'pending', 0, 1, 1, 'x', 0)"
        )
        raw.execute("PRAGMA user_version = 1")
        raw.commit()
    with Ledger(path) as ledger:
        entry = ledger.get(Path("/lib/a.mkv"))
        assert entry is not None and (entry.priority, entry.options) == (0, None)
        assert ledger.claim("w0", LEASE) is not None
    with closing(sqlite3.connect(path)) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
