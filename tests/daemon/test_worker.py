"""Worker plumbing that both the daemon and ``ingest scan`` use, on a real SQLite ledger."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from ingest.daemon.worker import Shared, keep_leases
from ingest.ledger.sqlite import Ledger, fingerprint
from ingest.settings import DaemonSettings, Settings

LEASE = 6.0  # the smallest lease settings allow: renewals every 2 s


@pytest.mark.slow
def test_keep_leases_renews_jobs_in_flight_until_stopping(tmp_path: Path):
    media = tmp_path / "long.wav"
    media.write_bytes(b"RIFF" + bytes(4000))
    conf = Settings(daemon=DaemonSettings(state_dir=tmp_path / "state", lease_seconds=LEASE))
    with Ledger(tmp_path / "ledger.db") as ledger:
        ledger.observe(media, fingerprint(media))
        entry = ledger.claim("host:1:w0", LEASE)
        assert entry is not None
        first = ledger.get(media).lease_until
        shared = Shared(conf, host=None, ledger=ledger)  # type: ignore[arg-type]
        shared.leases[media] = "host:1:w0"
        keeper = threading.Thread(target=keep_leases, args=(shared,))
        keeper.start()
        try:
            time.sleep(LEASE / 3 + 1.0)
            renewed = ledger.get(media).lease_until
        finally:
            shared.stopping.set()
            keeper.join(timeout=5)
    assert not keeper.is_alive()
    assert renewed > first + 1.5  # pushed forward by the renewal two seconds in, not just as claimed


def test_a_job_knows_whether_its_attempt_is_the_last(tmp_path: Path):
    """Notifiers tell people of a failure once: the worker marks the last attempt from the ledger."""
    from dataclasses import replace

    from ingest.daemon.worker import Worker

    media = tmp_path / "ep.wav"
    media.write_bytes(b"RIFF" + bytes(100))
    conf = Settings(daemon=DaemonSettings(state_dir=tmp_path / "state", max_attempts=3))
    with Ledger(tmp_path / "ledger.db") as ledger:
        ledger.observe(media, fingerprint(media))
        entry = ledger.get(media)
        worker = Worker(Shared(conf, host=None, ledger=ledger), 0)  # type: ignore[arg-type]
        lasts = [worker._job(replace(entry, attempts=n)).last_attempt for n in range(3)]
    assert lasts == [False, False, True]


def test_a_job_that_cannot_be_set_up_fails_alone_and_the_worker_goes_on(tmp_path: Path, monkeypatch):
    """An error while building a job (outside the pipeline's boundary) must not kill the worker
    and leave the file 'running' forever under leases this process keeps renewing."""
    from structlog.testing import capture_logs

    from ingest.daemon import worker as worker_mod
    from ingest.daemon.worker import Worker
    from ingest.testing import fresh_host

    media = tmp_path / "ep.wav"
    media.write_bytes(b"RIFF" + bytes(100))
    conf = Settings(daemon=DaemonSettings(state_dir=tmp_path / "state", max_attempts=1))

    def broken(*_args, **_kwargs):
        raise ValueError("options went wrong")

    monkeypatch.setattr(worker_mod, "job_options", broken)
    with Ledger(tmp_path / "ledger.db") as ledger:
        ledger.observe(media, fingerprint(media))
        shared = Shared(conf, host=fresh_host(), ledger=ledger)
        worker = Worker(shared, 0)
        entry = ledger.claim(worker.owner, LEASE)
        assert entry is not None
        with capture_logs() as logs:
            worker._prepare(entry)
        after = ledger.get(media)
    assert after.state == "failed" and "options went wrong" in after.last_error
    assert media not in shared.leases
    failed = [e for e in logs if e["event"] == "job_failed"]  # announced like any other failure
    assert len(failed) == 1 and "options went wrong" in failed[0]["error"]


def test_an_outcome_is_recorded_before_anyone_hears_of_it(tmp_path: Path, monkeypatch):
    """One way: the worker records the result, then announces it (summary line, plugins).
    A plugin told of a job finds the ledger already holding its outcome."""
    import types

    from ingest import hookimpl
    from ingest.daemon import worker as worker_mod
    from ingest.daemon.worker import Worker
    from ingest.testing import fresh_host

    media = tmp_path / "ep.wav"
    media.write_bytes(b"RIFF" + bytes(100))
    conf = Settings(daemon=DaemonSettings(state_dir=tmp_path / "state", max_attempts=1))
    seen = []
    with Ledger(tmp_path / "ledger.db") as ledger:

        @hookimpl
        def ingest_job_finished(job, result):
            entry = ledger.get(job.path)
            seen.append((result.status, entry.state, job.path in shared.leases))

        plugin = types.ModuleType("watcher_plugin")
        plugin.ingest_job_finished = ingest_job_finished
        monkeypatch.setattr(worker_mod, "job_options", lambda *a, **k: (_ for _ in ()).throw(ValueError("no")))
        ledger.observe(media, fingerprint(media))
        shared = Shared(conf, host=fresh_host(plugin), ledger=ledger)
        worker = Worker(shared, 0)
        entry = ledger.claim(worker.owner, LEASE)
        worker._prepare(entry)
    assert seen == [("failed", "failed", False)]  # recorded, lease let go, then announced
