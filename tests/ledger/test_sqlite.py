"""The ledger on real SQLite files: states, leases, retries, outputs, and concurrent claims."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from ingest.errors import IngestError
from ingest.ledger.sqlite import SCHEMA_VERSION, STATES, Fingerprint, Ledger, fingerprint

ROOT = Path(__file__).resolve().parents[2]
MIB = 1 << 20
LEASE = 60.0


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "ledger.sqlite3"


@pytest.fixture
def ledger(db_path: Path, clock: FakeClock):
    with Ledger(db_path, clock=clock) as led:
        yield led


def fp(content: str = "v1", size: int = 100, mtime_ns: int = 1) -> Fingerprint:
    """A fingerprint for made-up content: same ``content`` and ``size`` means same bytes."""
    return Fingerprint(
        size=size, mtime_ns=mtime_ns, digest=hashlib.blake2b(content.encode(), digest_size=16).hexdigest()
    )


def media(name: str) -> Path:
    return Path("/library") / name


def never(_attempts: int) -> float:
    return 0.0


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- fingerprint ------------------------------------------------------------------------


def test_fingerprint_of_small_file_covers_all_content(tmp_path: Path):
    one = tmp_path / "one.mkv"
    one.write_bytes(b"a" * 1000 + b"b")
    two = tmp_path / "two.mkv"
    two.write_bytes(b"a" * 1000 + b"b")
    other = tmp_path / "other.mkv"
    other.write_bytes(b"a" * 500 + b"c" + b"a" * 499 + b"b")

    first = fingerprint(one)
    assert (first.size, first.mtime_ns) == (1001, one.stat().st_mtime_ns)
    assert len(first.digest) == 32
    assert fingerprint(two).digest == first.digest
    assert fingerprint(other).digest != first.digest


def test_fingerprint_of_large_file_samples_first_middle_and_last_mib(tmp_path: Path):
    size = 5 * MIB  # samples: [0, 1), [2, 3) and [4, 5) MiB
    base = bytearray(size)

    def digest_with_byte_at(offset: int | None) -> str:
        data = bytearray(base)
        if offset is not None:
            data[offset] = 1
        path = tmp_path / "big.mkv"
        path.write_bytes(data)
        return fingerprint(path).digest

    plain = digest_with_byte_at(None)
    assert digest_with_byte_at(MIB + MIB // 2) == plain  # between samples: not read
    for offset in (0, 2 * MIB + 10, size - 1):
        assert digest_with_byte_at(offset) != plain


def test_fingerprint_of_missing_file_raises(tmp_path: Path):
    with pytest.raises(FileNotFoundError):
        fingerprint(tmp_path / "gone.mkv")


# --- the file itself --------------------------------------------------------------------


def test_new_ledger_creates_folder_schema_and_wal(db_path: Path, ledger: Ledger):
    assert db_path.is_file()
    with closing(sqlite3.connect(db_path)) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_reopening_keeps_what_was_recorded(db_path: Path, clock: FakeClock):
    with Ledger(db_path, clock=clock) as first:
        first.observe(media("a.mkv"), fp())
    with Ledger(db_path, clock=clock) as again:
        assert again.get(media("a.mkv")).state == "pending"


def test_ledger_from_a_newer_ingest_is_refused(db_path: Path, clock: FakeClock):
    Ledger(db_path, clock=clock).close()
    with closing(sqlite3.connect(db_path)) as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(IngestError, match="newer"):
        Ledger(db_path, clock=clock)


# --- observe ----------------------------------------------------------------------------


def test_new_path_is_pending(ledger: Ledger, clock: FakeClock):
    assert ledger.observe(media("a.mkv"), fp(), watch="tv") is True
    entry = ledger.get(media("a.mkv"))
    assert entry.path == media("a.mkv")
    assert (entry.state, entry.attempts, entry.owner, entry.lease_until) == ("pending", 0, None, None)
    assert (entry.next_attempt_at, entry.updated_at, entry.progress) == (clock.now, clock.now, 0.0)
    assert (entry.fingerprint, entry.watch, entry.outputs) == (fp(), "tv", ())
    assert (entry.last_error, entry.reason) == (None, None)


def test_unknown_path_has_no_entry(ledger: Ledger):
    assert ledger.get(media("never.mkv")) is None


def test_touch_with_same_content_is_not_requeued(ledger: Ledger, clock: FakeClock):
    path = media("a.mkv")
    ledger.observe(path, fp(), watch="tv")
    ledger.claim("w1", LEASE)
    ledger.finish_done(path, "w1", [])
    done_at = clock.now
    clock.advance(100)

    assert ledger.observe(path, fp(mtime_ns=999)) is False
    entry = ledger.get(path)
    assert (entry.state, entry.fingerprint.mtime_ns, entry.updated_at, entry.watch) == ("done", 999, done_at, "tv")
    assert ledger.claim("w1", LEASE) is None


def test_changed_content_is_requeued_with_a_fresh_start(ledger: Ledger, clock: FakeClock):
    path = media("a.mkv")
    ledger.observe(path, fp("v1"))
    ledger.claim("w1", LEASE)
    assert ledger.finish_failed(path, "w1", "bad header", max_attempts=1, backoff=never) == "failed"
    clock.advance(100)

    assert ledger.observe(path, fp("v2")) is True
    entry = ledger.get(path)
    assert (entry.state, entry.attempts, entry.last_error) == ("pending", 0, None)
    assert (entry.fingerprint, entry.next_attempt_at, entry.updated_at) == (fp("v2"), clock.now, clock.now)


def test_same_size_new_digest_counts_as_changed(ledger: Ledger):
    path = media("a.mkv")
    ledger.observe(path, fp("v1", size=10))
    ledger.claim("w1", LEASE)
    ledger.finish_skipped(path, "w1", "has subtitles")
    assert ledger.observe(path, fp("v2", size=10)) is True
    entry = ledger.get(path)
    assert (entry.state, entry.reason) == ("pending", None)


def test_change_while_running_goes_back_to_pending_after_finish_done(ledger: Ledger, tmp_path: Path):
    path = media("a.mkv")
    ledger.observe(path, fp("v1"))
    ledger.claim("w1", LEASE)

    assert ledger.observe(path, fp("v2")) is True
    running = ledger.get(path)
    assert (running.state, running.owner) == ("running", "w1")  # the worker keeps its lease

    srt = write(tmp_path / "a.en.srt", "1\n")
    ledger.finish_done(path, "w1", [srt])
    entry = ledger.get(path)
    assert (entry.state, entry.attempts, entry.owner, entry.outputs) == ("pending", 0, None, (srt,))
    assert ledger.owned_output(srt)  # the next run may overwrite what the last one wrote
    again = ledger.claim("w2", LEASE)
    assert (again.path, again.fingerprint) == (path, fp("v2"))
    ledger.finish_done(path, "w2", [srt])
    assert ledger.get(path).state == "done"  # the dirty mark is gone


@pytest.mark.parametrize("finish", ["failed", "skipped"])
def test_change_while_running_goes_back_to_pending_after_other_finishes(ledger: Ledger, finish: str):
    path = media("a.mkv")
    ledger.observe(path, fp("v1"))
    ledger.claim("w1", LEASE)
    ledger.observe(path, fp("v2"))
    if finish == "failed":
        assert ledger.finish_failed(path, "w1", "boom", max_attempts=1, backoff=never) == "pending"
    else:
        ledger.finish_skipped(path, "w1", "not wanted")
    entry = ledger.get(path)
    assert (entry.state, entry.attempts, entry.last_error, entry.reason) == ("pending", 0, None, None)


# --- claim, backoff, leases -------------------------------------------------------------


def test_claim_takes_the_oldest_due_row_first(ledger: Ledger, clock: FakeClock):
    ledger.observe(media("a.mkv"), fp())
    clock.advance(1)
    ledger.observe(media("b.mkv"), fp())
    ledger.observe(media("c.mkv"), fp())  # same time as b: arrival order decides

    claimed = [ledger.claim("w1", LEASE) for _ in range(3)]
    assert [entry.path for entry in claimed] == [media("a.mkv"), media("b.mkv"), media("c.mkv")]
    assert ledger.claim("w1", LEASE) is None


def test_claim_leases_the_row_to_its_owner(ledger: Ledger, clock: FakeClock):
    ledger.observe(media("a.mkv"), fp())
    clock.advance(5)
    entry = ledger.claim("host:1:worker-0", LEASE)
    assert (entry.state, entry.owner, entry.lease_until) == ("running", "host:1:worker-0", clock.now + LEASE)
    assert entry.updated_at == clock.now
    assert ledger.get(media("a.mkv")) == entry


def test_claim_on_empty_ledger_is_none(ledger: Ledger):
    assert ledger.claim("w1", LEASE) is None


def test_failed_attempts_back_off_then_fail_for_good(ledger: Ledger, clock: FakeClock):
    path, asked = media("a.mkv"), []

    def backoff(attempts: int) -> float:
        asked.append(attempts)
        return 10.0 * attempts

    ledger.observe(path, fp())
    for attempt in (1, 2):
        ledger.claim("w1", LEASE)
        assert ledger.finish_failed(path, "w1", f"error {attempt}", max_attempts=3, backoff=backoff) == "pending"
        entry = ledger.get(path)
        assert (entry.attempts, entry.last_error, entry.owner) == (attempt, f"error {attempt}", None)
        assert entry.next_attempt_at == clock.now + 10 * attempt
        clock.advance(10 * attempt - 1)
        assert ledger.claim("w1", LEASE) is None  # not due yet
        clock.advance(1)
    ledger.claim("w1", LEASE)
    assert ledger.finish_failed(path, "w1", "error 3", max_attempts=3, backoff=backoff) == "failed"
    entry = ledger.get(path)
    assert (entry.state, entry.attempts, entry.last_error) == ("failed", 3, "error 3")
    assert asked == [1, 2]
    assert ledger.claim("w1", LEASE) is None


def test_a_row_in_backoff_does_not_hold_up_newer_rows(ledger: Ledger, clock: FakeClock):
    ledger.observe(media("a.mkv"), fp())
    ledger.claim("w1", LEASE)
    ledger.finish_failed(media("a.mkv"), "w1", "flaky", max_attempts=5, backoff=lambda _n: 30.0)
    clock.advance(1)
    ledger.observe(media("b.mkv"), fp())
    assert ledger.claim("w1", LEASE).path == media("b.mkv")
    clock.advance(30)
    assert ledger.claim("w1", LEASE).path == media("a.mkv")


def test_renew_extends_the_lease_and_stores_progress(ledger: Ledger, clock: FakeClock):
    path = media("a.mkv")
    ledger.observe(path, fp())
    ledger.claim("w1", LEASE)
    clock.advance(30)
    assert ledger.renew(path, "w1", LEASE, progress=0.25) is True
    entry = ledger.get(path)
    assert (entry.lease_until, entry.progress) == (clock.now + LEASE, 0.25)
    assert ledger.renew(path, "w1", LEASE) is True
    assert ledger.get(path).progress == 0.25  # no progress given: kept


def test_renew_by_someone_else_fails(ledger: Ledger):
    path = media("a.mkv")
    ledger.observe(path, fp())
    assert ledger.renew(path, "w1", LEASE) is False  # pending: nobody's lease
    ledger.claim("w1", LEASE)
    assert ledger.renew(path, "w2", LEASE) is False
    assert ledger.renew(media("other.mkv"), "w1", LEASE) is False


def test_release_hands_the_job_back_at_once(ledger: Ledger, clock: FakeClock):
    path = media("a.mkv")
    ledger.observe(path, fp())
    ledger.claim("w1", LEASE)
    ledger.finish_failed(path, "w1", "flaky", max_attempts=5, backoff=lambda _n: 5.0)
    clock.advance(5)
    ledger.claim("w1", LEASE)
    ledger.observe(media("b.mkv"), fp())  # newer work arrives meanwhile
    clock.advance(1)

    ledger.release(path, "w1")
    entry = ledger.get(path)
    assert (entry.state, entry.attempts, entry.owner, entry.lease_until) == ("pending", 1, None, None)
    assert entry.updated_at == clock.now
    assert ledger.claim("w2", LEASE).path == path  # keeps its place ahead of b


def test_release_by_someone_else_does_nothing(ledger: Ledger):
    path = media("a.mkv")
    ledger.observe(path, fp())
    ledger.claim("w1", LEASE)
    ledger.release(path, "w2")
    assert ledger.get(path).owner == "w1"


def test_expired_lease_of_a_dead_owner_is_reclaimed(ledger: Ledger, clock: FakeClock):
    ledger.observe(media("a.mkv"), fp())
    ledger.observe(media("b.mkv"), fp())
    ledger.claim("dead", LEASE)
    ledger.claim("alive", 10 * LEASE)

    assert ledger.reclaim_expired() == []
    clock.advance(LEASE + 1)
    assert ledger.reclaim_expired() == [media("a.mkv")]
    entry = ledger.get(media("a.mkv"))
    assert (entry.state, entry.owner, entry.lease_until, entry.attempts) == ("pending", None, None, 0)
    assert ledger.get(media("b.mkv")).owner == "alive"
    assert ledger.claim("new", LEASE).path == media("a.mkv")


def test_a_lost_lease_cannot_finish_or_overwrite_the_new_owner(ledger: Ledger, clock: FakeClock, tmp_path: Path):
    path = media("a.mkv")
    ledger.observe(path, fp())
    ledger.claim("old", LEASE)
    clock.advance(LEASE + 1)
    ledger.reclaim_expired()
    taken = ledger.claim("new", LEASE)

    srt = write(tmp_path / "a.en.srt", "old run\n")
    with capture_logs() as logs:
        assert ledger.renew(path, "old", LEASE, progress=0.9) is False
        ledger.finish_done(path, "old", [srt])
        ledger.finish_skipped(path, "old", "late")
        assert ledger.finish_failed(path, "old", "late", max_attempts=1, backoff=never) == "lost"
        ledger.release(path, "old")

    assert ledger.get(path) == replace(taken, outputs=(srt,))  # state, owner and lease untouched
    lost = [log for log in logs if log["event"] == "ledger_lease_lost"]
    assert [log["action"] for log in lost] == ["renew", "finish_done", "finish_skipped", "finish_failed", "release"]
    assert all(log["owner"] == "old" and log["path"] == str(path) for log in lost)
    # The old run did write srt, so the new run may overwrite it.
    assert ledger.owned_output(srt)


def test_finishing_a_forgotten_file_does_nothing(ledger: Ledger):
    path = media("a.mkv")
    ledger.observe(path, fp())
    ledger.claim("w1", LEASE)
    ledger.forget(path)
    ledger.finish_skipped(path, "w1", "gone")
    assert ledger.get(path) is None


# --- finishing and outputs --------------------------------------------------------------


def test_finish_done_records_outputs_with_their_hash(ledger: Ledger, clock: FakeClock, tmp_path: Path):
    path = media("a.mkv")
    ledger.observe(path, fp())
    ledger.claim("w1", LEASE)
    ledger.renew(path, "w1", LEASE, progress=0.5)
    srt, vtt = write(tmp_path / "a.en.srt", "1\n"), write(tmp_path / "a.en.vtt", "WEBVTT\n")
    clock.advance(7)
    ledger.finish_done(path, "w1", [vtt, srt])

    entry = ledger.get(path)
    assert (entry.state, entry.owner, entry.lease_until, entry.progress) == ("done", None, None, 1.0)
    assert (entry.updated_at, entry.outputs) == (clock.now, (srt, vtt))
    assert ledger.outputs_of(path) == [srt, vtt]
    with closing(sqlite3.connect(ledger.path)) as raw:
        row = raw.execute("SELECT media, sha256, written_at FROM outputs WHERE path = ?", (str(srt),)).fetchone()
    assert row == (str(path), hashlib.sha256(b"1\n").hexdigest(), clock.now)


def test_owned_output_is_false_once_the_user_edits_it(ledger: Ledger, tmp_path: Path):
    path = media("a.mkv")
    ledger.observe(path, fp())
    ledger.claim("w1", LEASE)
    srt = write(tmp_path / "a.en.srt", "1\nours\n")
    ledger.finish_done(path, "w1", [srt])
    assert ledger.owned_output(srt) is True

    write(srt, "1\nfixed by hand\n")
    assert ledger.owned_output(srt) is False
    srt.unlink()
    assert ledger.owned_output(srt) is False


def test_an_output_gone_before_finish_is_not_recorded(ledger: Ledger, tmp_path: Path):
    path = media("a.mkv")
    ledger.observe(path, fp())
    ledger.claim("w1", LEASE)
    srt = write(tmp_path / "a.en.srt", "1\n")
    with capture_logs() as logs:
        ledger.finish_done(path, "w1", [srt, tmp_path / "a.en.vtt"])
    assert ledger.get(path).state == "done"
    assert ledger.outputs_of(path) == [srt]
    assert [log["event"] for log in logs] == ["ledger_output_missing"]


def test_owned_output_is_false_for_files_ingest_never_wrote(ledger: Ledger, tmp_path: Path):
    assert ledger.owned_output(write(tmp_path / "mine.srt", "user's own\n")) is False


def test_outputs_of_unknown_media_is_empty(ledger: Ledger):
    assert ledger.outputs_of(media("never.mkv")) == []


def test_finish_skipped_keeps_the_reason(ledger: Ledger):
    path = media("a.mkv")
    ledger.observe(path, fp())
    ledger.claim("w1", LEASE)
    ledger.finish_skipped(path, "w1", "subtitles already embedded")
    entry = ledger.get(path)
    assert (entry.state, entry.reason, entry.owner) == ("skipped", "subtitles already embedded", None)


def run_to(ledger: Ledger, clock: FakeClock, names: list[str], state: str) -> None:
    """Observe, claim and finish each name in ``state``, one second apart."""
    for name in names:
        ledger.observe(media(name), fp())
        entry = ledger.claim("w1", LEASE)
        if state == "failed":
            ledger.finish_failed(entry.path, "w1", f"{name} broke", max_attempts=1, backoff=never)
        elif state == "skipped":
            ledger.finish_skipped(entry.path, "w1", f"{name} unwanted")
        elif state == "done":
            ledger.finish_done(entry.path, "w1", [])
        clock.advance(1)


def test_failures_are_listed_most_recent_first(ledger: Ledger, clock: FakeClock):
    run_to(ledger, clock, ["a.mkv", "b.mkv", "c.mkv"], "failed")
    run_to(ledger, clock, ["d.mkv"], "done")
    assert [e.path.name for e in ledger.failures()] == ["c.mkv", "b.mkv", "a.mkv"]
    assert [e.last_error for e in ledger.failures(limit=2)] == ["c.mkv broke", "b.mkv broke"]


def test_skipped_are_listed_most_recent_first(ledger: Ledger, clock: FakeClock):
    run_to(ledger, clock, ["a.mkv", "b.mkv"], "skipped")
    run_to(ledger, clock, ["c.mkv"], "failed")
    assert [(e.path.name, e.reason) for e in ledger.skipped()] == [
        ("b.mkv", "b.mkv unwanted"),
        ("a.mkv", "a.mkv unwanted"),
    ]
    assert len(ledger.skipped(limit=1)) == 1


def test_running_lists_the_running_jobs(ledger: Ledger, clock: FakeClock):
    run_to(ledger, clock, ["a.mkv", "b.mkv"], "running")
    run_to(ledger, clock, ["c.mkv"], "done")
    assert [(e.path.name, e.owner) for e in ledger.running()] == [("a.mkv", "w1"), ("b.mkv", "w1")]


# --- retry, counts, forget, known -------------------------------------------------------


def test_retry_one_path_starts_it_over(ledger: Ledger, clock: FakeClock):
    run_to(ledger, clock, ["a.mkv", "b.mkv"], "failed")
    assert ledger.retry(media("a.mkv")) == 1
    entry = ledger.get(media("a.mkv"))
    assert (entry.state, entry.attempts, entry.last_error, entry.next_attempt_at) == ("pending", 0, None, clock.now)
    assert entry.updated_at == clock.now
    assert ledger.get(media("b.mkv")).state == "failed"


def test_retry_works_on_done_and_skipped_but_not_running_or_unknown(ledger: Ledger, clock: FakeClock):
    run_to(ledger, clock, ["done.mkv"], "done")
    run_to(ledger, clock, ["skipped.mkv"], "skipped")
    run_to(ledger, clock, ["running.mkv"], "running")
    assert ledger.retry(media("done.mkv")) == 1
    assert ledger.retry(media("skipped.mkv")) == 1
    assert ledger.get(media("skipped.mkv")).reason is None
    assert ledger.retry(media("running.mkv")) == 0
    assert ledger.get(media("running.mkv")).state == "running"
    assert ledger.retry(media("never.mkv")) == 0


def test_retry_failed_requeues_every_failed_row(ledger: Ledger, clock: FakeClock):
    run_to(ledger, clock, ["a.mkv", "b.mkv", "c.mkv"], "failed")
    run_to(ledger, clock, ["d.mkv"], "done")
    run_to(ledger, clock, ["e.mkv"], "skipped")
    assert ledger.retry(failed=True) == 3
    assert ledger.counts() == {"pending": 3, "running": 0, "done": 1, "failed": 0, "skipped": 1}
    assert ledger.retry(media("d.mkv"), failed=True) == 0  # both given: only if that path failed


def test_retry_needs_a_path_or_failed(ledger: Ledger):
    with pytest.raises(ValueError, match="retry needs"):
        ledger.retry()


def test_counts_list_every_state(ledger: Ledger, clock: FakeClock):
    assert ledger.counts() == dict.fromkeys(STATES, 0)
    run_to(ledger, clock, ["a.mkv", "b.mkv"], "done")
    run_to(ledger, clock, ["c.mkv"], "running")
    ledger.observe(media("d.mkv"), fp())
    assert ledger.counts() == {"pending": 1, "running": 1, "done": 2, "failed": 0, "skipped": 0}


def test_forget_drops_the_row_but_keeps_proof_of_outputs(ledger: Ledger, tmp_path: Path):
    path = media("a.mkv")
    ledger.observe(path, fp())
    ledger.claim("w1", LEASE)
    srt = write(tmp_path / "a.en.srt", "1\n")
    ledger.finish_done(path, "w1", [srt])

    ledger.forget(path)
    assert ledger.get(path) is None
    assert ledger.counts()["done"] == 0
    assert ledger.outputs_of(path) == [srt]
    assert ledger.owned_output(srt)
    assert ledger.observe(path, fp()) is True  # seen again: new work


def test_known_lists_files_at_or_below_a_folder(ledger: Ledger):
    inside = [Path("/lib/tv/a.mkv"), Path("/lib/tv/Show/S01/b.mkv"), Path("/lib/tv/100%_c.mkv")]
    outside = [Path("/lib/tvshows/c.mkv"), Path("/lib/TV/d.mkv"), Path("/lib/tv_x/e.mkv"), Path("/lib/tv.mkv")]
    for path in inside + outside:
        ledger.observe(path, fp())
    assert ledger.known(Path("/lib/tv")) == set(inside)
    assert ledger.known(Path("/lib/tv/a.mkv")) == {Path("/lib/tv/a.mkv")}
    assert ledger.known(Path("/")) == set(inside + outside)
    assert ledger.known(Path("/elsewhere")) == set()


# --- more than one connection -----------------------------------------------------------


def test_two_ledgers_on_one_file_see_each_others_writes(db_path: Path, clock: FakeClock):
    with Ledger(db_path, clock=clock) as daemon, Ledger(db_path, clock=clock) as status:
        daemon.observe(media("a.mkv"), fp())
        assert status.counts()["pending"] == 1
        claimed = daemon.claim("daemon", LEASE)
        assert status.running() == [claimed]
        daemon.finish_failed(claimed.path, "daemon", "boom", max_attempts=1, backoff=never)
        assert [e.last_error for e in status.failures()] == ["boom"]
        assert status.retry(failed=True) == 1
        assert daemon.get(media("a.mkv")).state == "pending"


def test_readers_are_not_blocked_by_a_writer(db_path: Path, ledger: Ledger):
    ledger.observe(media("a.mkv"), fp())
    with closing(sqlite3.connect(db_path, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE files SET state = 'done'")
        assert ledger.counts()["pending"] == 1  # WAL: the last committed state, at once
        other.execute("ROLLBACK")


def test_a_writer_waits_for_another_process_to_commit(db_path: Path, ledger: Ledger):
    done = threading.Event()

    def observe() -> None:
        ledger.observe(media("a.mkv"), fp())
        done.set()

    with closing(sqlite3.connect(db_path, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        writer = threading.Thread(target=observe)
        writer.start()
        try:
            assert not done.wait(0.3)  # busy: waits instead of failing
        finally:
            other.execute("COMMIT")
            writer.join(timeout=10)
    assert done.is_set()
    assert ledger.get(media("a.mkv")).state == "pending"


def fill(ledger: Ledger, count: int) -> set[Path]:
    paths = {media(f"{i:03d}.mkv") for i in range(count)}
    for path in sorted(paths):
        ledger.observe(path, fp())
    return paths


@pytest.mark.parametrize("connections", ["shared", "one_each"])
def test_threads_racing_to_claim_take_each_row_once(db_path: Path, clock: FakeClock, ledger: Ledger, connections: str):
    paths = fill(ledger, 50)
    start = threading.Barrier(4)
    claims: dict[str, list[Path]] = {}

    def worker(name: str) -> None:
        own = Ledger(db_path) if connections == "one_each" else ledger
        try:
            start.wait(timeout=10)
            mine = claims.setdefault(name, [])
            while (entry := own.claim(name, LEASE)) is not None:
                mine.append(entry.path)
        finally:
            if own is not ledger:
                own.close()

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    every = [path for mine in claims.values() for path in mine]
    assert len(every) == len(set(every)) == 50
    assert set(every) == paths
    assert {entry.owner for entry in ledger.running()} <= {"w0", "w1", "w2", "w3"}


CLAIMER = """
import sys
from pathlib import Path
from ingest.ledger.sqlite import Ledger

with Ledger(Path(sys.argv[1])) as ledger:
    print("ready", flush=True)
    sys.stdin.readline()
    while (entry := ledger.claim(sys.argv[2], 600)) is not None:
        print("claimed", entry.path, flush=True)
"""


def test_processes_racing_to_claim_take_each_row_once(db_path: Path, ledger: Ledger):
    paths = fill(ledger, 200)
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMER, str(db_path), f"proc{i}"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    try:
        for child in children:
            assert child.stdout.readline().strip() == "ready"
        for child in children:  # go, all at once
            child.stdin.write("\n")
            child.stdin.flush()
        mine = []
        while (entry := ledger.claim("parent", LEASE)) is not None:
            mine.append(entry.path)
            time.sleep(0)  # let the children in between our transactions
        outputs = [child.communicate(timeout=60)[0] for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.communicate()
    assert [child.returncode for child in children] == [0, 0]
    theirs = [
        Path(line.split(" ", 1)[1]) for out in outputs for line in out.splitlines() if line.startswith("claimed ")
    ]
    every = mine + theirs
    assert len(every) == len(set(every))
    assert set(every) == paths
    assert theirs  # the children really took part


def test_claim_can_be_limited_to_a_folder(tmp_path):
    """A scan of one folder must not take work of the daemon's other watches."""
    with Ledger(tmp_path / "l.db") as ledger:
        for name in ("/lib/tv/a.mkv", "/lib/tvshows/b.mkv", "/lib/films/c.mkv"):
            ledger.observe(Path(name), Fingerprint(1, 1, name))
        claimed = ledger.claim("o", 60, under=Path("/lib/tv"))
        assert claimed is not None and claimed.path == Path("/lib/tv/a.mkv")
        assert ledger.claim("o", 60, under=Path("/lib/tv")) is None
        assert ledger.claim("o", 60).path in {Path("/lib/tvshows/b.mkv"), Path("/lib/films/c.mkv")}
