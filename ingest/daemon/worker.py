"""Workers: stoppable threads that take jobs from the ledger and run them.

Each worker has two threads: a preparer claims the next job and decodes its audio
while the runner transcribes the current one, so ffmpeg and the engine overlap. On
stop, a job not yet started is handed back at once; a running job gets
``stop_timeout`` seconds to finish, then is cancelled and handed back.
"""

from __future__ import annotations

import contextlib
import os
import queue
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import structlog

from ingest import pipeline, settings
from ingest.daemon import dropfolder
from ingest.errors import Cancelled
from ingest.ledger.sqlite import Entry, Ledger, is_last
from ingest.models import Job, JobOptions, JobResult
from ingest.plugins import Host
from ingest.settings.options import job_options, with_overrides

log = structlog.get_logger(__name__)
PROGRESS_EVERY = 5.0  # seconds between progress writes to the ledger
# An idle worker looks for due work (retries, `ingest retry` from another process) this
# often; new files wake it at once. Each look is a write transaction, so not every second.
IDLE_CLAIM_SECONDS = 5.0
LEDGER_RETRY = 2.0  # seconds between tries to record an outcome while the ledger cannot be written


@dataclass
class Shared:
    """What every worker reads; ``settings`` is swapped whole on reload."""

    settings: settings.Settings
    host: Host
    ledger: Ledger
    wake: threading.Event = field(default_factory=threading.Event)
    stopping: threading.Event = field(default_factory=threading.Event)
    cancel_at: float | None = None  # monotonic deadline for running jobs once stopping
    dropfolders: bool = False  # move the sources of drop-folder watches once done (the daemon, not a scan)
    scope: Path | None = None  # only jobs at or below this folder (a scan of one folder)
    leases: dict[Path, str] = field(default_factory=dict)  # jobs in flight → owner, for renewal
    lock: threading.Lock = field(default_factory=threading.Lock)


def keep_leases(shared: Shared) -> None:
    """Renew the lease of every job in flight, every third of a lease, until stopping.

    Progress writes renew a lease too, but only while an engine reports progress;
    decoding, language detection and diarization report none. The daemon and
    ``ingest scan`` both run this on a thread of its own.
    """
    lease = shared.settings.daemon.lease_seconds
    while not shared.stopping.wait(lease / 3):
        with shared.lock:
            inflight = dict(shared.leases)
        for path, owner in inflight.items():
            try:
                shared.ledger.renew(path, owner, lease)
            except sqlite3.Error as exc:
                log.error("ledger_write_failed", during="lease renewal", file=str(path), error=str(exc))
        take_back_expired(shared)


def take_back_expired(shared: Shared) -> None:
    """Jobs whose lease ran out go back to pending while we run, not only at start-up: their
    owner died under another hostname (a container restart), or its PID was reused."""
    try:
        taken = shared.ledger.reclaim_expired()
    except sqlite3.Error as exc:
        log.error("ledger_write_failed", during="taking back expired leases", error=str(exc))
        return
    if taken:
        shared.wake.set()


def attempts_of(entry: Entry, max_attempts: int) -> int:
    """How many attempts a job gets: a request's job one, its client waits for the outcome
    (and asks again if it wants another); a watched file ``max_attempts``."""
    return 1 if entry.options is not None else max_attempts


def owner_id(index: int) -> str:
    """host:pid:worker — the daemon can tell at start which owners died."""
    return f"{socket.gethostname()}:{os.getpid()}:w{index}"


class Worker:
    def __init__(self, shared: Shared, index: int, device: str | None = None) -> None:
        self.shared = shared
        self.owner = owner_id(index)
        self.device = device  # a GPU of its own when there are several
        self._ready: queue.Queue[pipeline.Prepared] = queue.Queue(maxsize=1)
        # Set while the runner has room for one more prepared job: the preparer claims only
        # then, so at most one job waits decoded behind the running one (and a request that
        # comes in meanwhile is the next claim, not the third).
        self._room = threading.Event()
        self._room.set()
        self._prepare_done = threading.Event()
        self._threads = [
            threading.Thread(target=self._prepare_loop, name=f"ingest-prepare-{index}"),
            threading.Thread(target=self._run_loop, name=f"ingest-run-{index}"),
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def join(self, timeout: float | None = None) -> None:
        for thread in self._threads:
            thread.join(timeout)

    def alive(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    # -- preparer: claim, probe, decode -----------------------------------------
    def _prepare_loop(self) -> None:
        try:
            while not self.shared.stopping.is_set():
                if not self._room.wait(0.5):
                    continue
                with self._survive_ledger_errors():
                    entry = self._claim()
                    if entry is not None:
                        self._prepare(entry)
        finally:
            self._prepare_done.set()

    @contextlib.contextmanager
    def _survive_ledger_errors(self) -> Iterator[None]:
        """A full or failing disk under the ledger costs this step, never the thread."""
        try:
            yield
        except sqlite3.Error as exc:
            log.error("ledger_write_failed", owner=self.owner, error=str(exc))
            self.shared.stopping.wait(1.0)

    def _claim(self) -> Entry | None:
        conf = self.shared.settings.daemon
        entry = self.shared.ledger.claim(self.owner, conf.lease_seconds, under=self.shared.scope)
        if entry is None:
            self.shared.wake.wait(IDLE_CLAIM_SECONDS)
            self.shared.wake.clear()
            return None
        with self.shared.lock:
            self.shared.leases[entry.path] = self.owner
        log.info("job_started", file=str(entry.path), owner=self.owner, attempt=entry.attempts + 1)
        return entry

    def _prepare(self, entry: Entry) -> None:
        try:
            job = self._job(entry)
        except Exception as exc:
            log.exception("job_setup_failed", file=str(entry.path))
            error = f"{entry.path}: cannot set up the job: {exc!r}"
            failed = JobResult(entry.path, "failed", error=error, final=False)  # the ledger counts its attempts
            self._conclude(entry, Job(entry.path, JobOptions()), failed)
            return
        first = pipeline.prepare(job, self.shared.settings, self.shared.host)
        if isinstance(first, JobResult):
            self._conclude(entry, job, first)
            return
        while not self._offer(first):
            if self.shared.stopping.is_set():  # never started: hand it straight back
                self._conclude(entry, job, JobResult(job.path, "cancelled", error="daemon stopping"))
                return

    def _offer(self, prepared: pipeline.Prepared) -> bool:
        try:
            self._ready.put(prepared, timeout=0.5)
        except queue.Full:
            return False
        self._room.clear()
        return True

    def _job(self, entry: Entry) -> Job:
        conf = self.shared.settings
        options = with_overrides(job_options(conf, entry.path), entry.options)  # a request's own options
        options = replace(options, existing="skip", device=self.device or options.device)
        ledger = self.shared.ledger
        replaceable = frozenset(p for p in ledger.outputs_of(entry.path) if ledger.owned_output(p))
        last = is_last(entry.attempts + 1, attempts_of(entry, conf.daemon.max_attempts))
        return Job(entry.path, options, replaceable=replaceable, last_attempt=last, progress=self._progress(entry.path))

    # -- runner: transcribe, cues, write -----------------------------------------
    def _run_loop(self) -> None:
        while not (self._prepare_done.is_set() and self._ready.empty()):
            try:
                prepared = self._ready.get(timeout=0.5)
            except queue.Empty:
                continue
            with self._survive_ledger_errors():
                try:
                    entry = self.shared.ledger.get(prepared.job.path)
                    if self._outranked(entry):
                        continue
                finally:
                    self._room.set()  # the preparer may claim (and decode) the next one now
                self._run(prepared, entry)

    def _outranked(self, entry: Entry | None) -> bool:
        """Hand ``entry``'s decoded job back when a job of higher priority is due (a request
        that came in while it waited): the request runs next, this one after it."""
        above = self.shared.ledger.next_priority(under=self.shared.scope)
        if entry is None or above is None or above <= entry.priority or self.shared.stopping.is_set():
            return False
        self.shared.ledger.release(entry.path, self.owner)
        self._let_go(entry.path)
        log.info("job_deferred", file=str(entry.path), owner=self.owner, note="a job of higher priority is due")
        return True

    def _run(self, prepared: pipeline.Prepared, entry: Entry | None) -> None:
        job = prepared.job
        if self.shared.stopping.is_set():  # decoded while stopping but never started: hand it back
            if entry is not None:
                self._conclude(entry, job, JobResult(job.path, "cancelled", error="daemon stopping"))
            return
        result = pipeline.complete(prepared, self.shared.settings, self.shared.host)
        if entry is None:  # gone from the ledger meanwhile: nothing to record it in
            self._let_go(job.path)
            pipeline.announce(self.shared.host, job, result)
        else:
            self._conclude(entry, job, result)

    def _progress(self, path: Path) -> Callable[[float, float], None]:
        last = [0.0]

        def update(done: float, total: float) -> None:
            deadline = self.shared.cancel_at
            if deadline is not None and time.monotonic() >= deadline:
                raise Cancelled(f"{path}: daemon stopping; handed back")
            if time.monotonic() - last[0] >= PROGRESS_EVERY:
                last[0] = time.monotonic()
                lease = self.shared.settings.daemon.lease_seconds
                try:
                    self.shared.ledger.renew(path, self.owner, lease, progress=done / total if total else None)
                except sqlite3.Error as exc:  # progress is a courtesy: never fail the job for it
                    log.warning("ledger_write_failed", file=str(path), error=str(exc))

        return update

    def _conclude(self, entry: Entry, job: Job, result: JobResult) -> None:
        """How a job ended, in one direction: recorded in the ledger, the lease let go, then
        announced (summary line, plugins), then a drop-folder source moved. A crash before
        the record leaves the job running, to be taken back, never announced but unrecorded;
        a ledger that cannot be written while stopping raises here and announces nothing."""
        try:
            final = self._record_until_written(entry, result)
        finally:
            self._let_go(entry.path)  # at once: no renewal of a finished row, no race with a new claim
        pipeline.announce(self.shared.host, job, result)
        if final and self.shared.dropfolders:
            dropfolder.after_job(self.shared.settings, job, result)

    def _let_go(self, path: Path) -> None:
        with self.shared.lock:
            self.shared.leases.pop(path, None)

    def _record_until_written(self, entry: Entry, result: JobResult) -> bool:
        """The work is done: wait out a full disk under the ledger rather than lose its outcome.

        When stopping, give up: the row stays running and the next start takes it back.
        """
        while True:
            try:
                return self._record(entry, result)
            except sqlite3.Error as exc:
                if self.shared.stopping.is_set():
                    note = "left running, unannounced: taken back at the next start"
                    path, status = str(entry.path), result.status
                    log.error("ledger_write_failed", file=path, status=status, error=str(exc), note=note)
                    raise
                log.error("ledger_write_failed", file=str(entry.path), error=str(exc), retry_in=LEDGER_RETRY)
                self.shared.stopping.wait(LEDGER_RETRY)

    def _record(self, entry: Entry, result: JobResult) -> bool:
        """Write the outcome to the ledger, which decides retry or failure; True when final."""
        ledger, conf = self.shared.ledger, self.shared.settings.daemon
        final = result.status != "cancelled"  # a failure with attempts left is not final either
        if result.status != "done" and not os.path.lexists(entry.path):
            # Deleted while it ran: the watcher's news was held back for the running job, and
            # no event will come again. A pending row now would wait for ever for a ghost.
            ledger.forget(entry.path)
            log.info("job_source_gone", file=str(entry.path), status=result.status)
            final = False  # nothing left to move to a drop folder's done/ or failed/
        elif result.status == "done":
            ledger.finish_done(entry.path, self.owner, list(result.outputs))
        elif result.status == "skipped":
            ledger.finish_skipped(entry.path, self.owner, result.error or "skipped")
        elif result.status == "cancelled":
            ledger.release(entry.path, self.owner)
        else:
            backoff = lambda attempt: conf.backoff_seconds * 2 ** (attempt - 1)  # noqa: E731
            # final on this attempt (empty, not media...), or a request's job, whose client waits for it
            attempts = 1 if result.final else attempts_of(entry, conf.max_attempts)
            state = ledger.finish_failed(entry.path, self.owner, result.error or "failed", attempts, backoff)
            final = state == "failed"
        return final
