"""The daemon: settings → plugins → ledger → watches → workers, and its lifecycle.

Ready (sd_notify READY=1) only once the ledger and the watches are up. SIGTERM
stops it (running jobs finish or are handed back), SIGHUP reloads the
configuration (a bad one is refused and the old one kept).
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import structlog

from ingest import settings
from ingest.daemon import reconcile, rootlock
from ingest.daemon.mediafiles import DEFAULT_EXTENSIONS, DEFAULT_IGNORE, WatchSpec
from ingest.daemon.settle import Settler
from ingest.daemon.watcher import Watcher
from ingest.daemon.worker import Shared, Worker, keep_leases
from ingest.engines import device, modelcache
from ingest.errors import ConfigError
from ingest.ledger.sqlite import Ledger
from ingest.plugins import Host
from ingest.settings.options import watch_for
from ingest.subtitles import outputs

log = structlog.get_logger(__name__)
LEDGER_NAME = "ledger.sqlite3"
HEARTBEAT_NAME = "daemon.heartbeat"
STUCK_SECONDS = 30.0  # the settle loop silent this long means a stage hangs
TEMP_SWEEP_SECONDS = 5.0  # how often the temp files seen in the watches are looked at


def notify(message: str) -> None:
    """sd_notify: one datagram to $NOTIFY_SOCKET; nothing when not under systemd.

    The protocol is a single sendto (no library of ours needs libsystemd for it).
    """
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.sendto(message.encode(), address)


def specs(conf: settings.Settings) -> list[WatchSpec]:
    return [
        WatchSpec(
            path=w.path.expanduser().resolve(),
            recursive=w.recursive,
            extensions=frozenset(e.lower() if e.startswith(".") else f".{e.lower()}" for e in w.extensions)
            if w.extensions
            else DEFAULT_EXTENSIONS,
            ignore=tuple(w.ignore) if w.ignore is not None else DEFAULT_IGNORE,
            polling=w.polling,
            poll_interval=w.poll_interval,
            key=str(w.path.expanduser().resolve()),
        )
        for w in conf.watches
    ]


def watch_of(conf: settings.Settings, path: Path) -> tuple[WatchSpec, settings.WatchSettings] | None:
    """The watch holding ``path`` (the deepest, ``options.watch_for``) as the daemon watches
    it, and its settings; None when no watch holds it."""
    watch = watch_for(conf, path)
    return None if watch is None else (specs(conf)[conf.watches.index(watch)], watch)


def observe(shared: Shared, path: Path, spec: WatchSpec | None, wake: bool = True) -> bool:
    """A settled file of a watch into the ledger (fingerprinted; the ledger decides whether it
    is new work) and the workers woken when it is; True then. The settle loop and the webhooks
    (``ingest.server.routes.webhooks``) both call this, so a file is one observation however it
    was announced. ``sqlite3.Error`` propagates: each caller has its own way to try again."""
    queued = shared.ledger.look(path, watch=spec.key if spec is not None else None)
    if queued:
        log.info("job_queued", file=str(path))
        if wake:  # a caller that sets more on the row first (a request's priority) wakes them itself
            shared.wake.set()
    return queued


class Daemon:
    def __init__(self, conf: settings.Settings, host: Host, reload: Callable[[], settings.Settings] | None = None):
        self.reload_settings = reload
        state = conf.daemon.state_dir
        self.shared = Shared(conf, host, Ledger(state / LEDGER_NAME))
        self.locks = rootlock.RootLocks(state / LEDGER_NAME)
        self.temps: dict[Path, None] = {}  # temp files seen in the watches, until gone or swept
        self.swept = time.monotonic()
        self.shared.dropfolders = True  # sources of drop-folder watches move to done/ or failed/
        self.settlers: dict[str, Settler[WatchSpec]] = {}
        self.gone: queue.SimpleQueue[Path] = queue.SimpleQueue()
        self.watcher: Watcher | None = None
        self.workers: list[Worker] = []
        self.threads: list[threading.Thread] = []
        self.stopped = threading.Event()
        self.reload_requested = threading.Event()
        self.settle_tick = time.monotonic()
        self._wakeup = threading.Event()  # serve() acts on a stop or a reload at once, not at the next ping

    # -- start -------------------------------------------------------------------
    def start(self) -> None:
        for spec in specs(self.shared.settings):  # refuses a folder a daemon with another ledger watches
            self.locks.take(spec.path)
        reconcile.take_back_orphans(self.shared.ledger)
        self._start_watcher()
        self._spawn(self._settle_loop, "ingest-settle")
        self._spawn(lambda: keep_leases(self.shared), "ingest-leases")
        self._spawn(self._reconcile, "ingest-reconcile")
        self._start_workers()
        self.sweeper = modelcache.Sweeper(modelcache.CACHE, interval=30.0)
        self.sweeper.start()
        notify("READY=1\nSTATUS=watching " + ", ".join(str(s.path) for s in specs(self.shared.settings)))
        beat(self.shared.settings.daemon.state_dir, "ready")
        log.info(
            "daemon_ready",
            watches=[str(w.path) for w in self.shared.settings.watches],
            workers=len(self.workers),
            ledger=str(self.shared.settings.daemon.state_dir / LEDGER_NAME),
        )

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name)
        thread.start()
        self.threads.append(thread)

    def _start_watcher(self) -> None:
        conf = self.shared.settings
        for spec, watch in zip(specs(conf), conf.watches, strict=True):
            if spec.key not in self.settlers:  # a changed settle time applies from the next restart
                self.settlers[spec.key] = Settler(watch.settle_seconds)
        self.watcher = Watcher(specs(conf), self._on_file, self._on_gone, on_temp=self._on_temp)
        self.watcher.start()

    def _start_workers(self) -> None:
        count, gpus = self.shared.settings.daemon.workers, device.cuda_devices()
        count = count or max(1, gpus)
        auto_gpu = self.shared.settings.transcribe.device == "auto" and gpus > 1
        for n in range(count):
            worker = Worker(self.shared, n, device=f"cuda:{n % gpus}" if auto_gpu else None)
            worker.start()
            self.workers.append(worker)

    # -- files ----------------------------------------------------------------------
    def _on_file(self, path: Path, spec: WatchSpec) -> None:
        self.settlers[spec.key].touch(path, spec)

    def _on_gone(self, path: Path, spec: WatchSpec) -> None:
        self.settlers[spec.key].forget(path)
        self.gone.put(path)  # the ledger is updated by the settle loop: callbacks only enqueue

    def _on_temp(self, path: Path, spec: WatchSpec) -> None:
        self.temps[path] = None  # a dict, not a set: safe to add to while the settle loop copies it

    def _sweep_temps(self) -> None:
        """Temp files of writes cut short (an ``ingest process`` or another daemon killed
        mid-write) go once old enough, while we run, not only at the next start."""
        if time.monotonic() - self.swept < TEMP_SWEEP_SECONDS:
            return
        self.swept = time.monotonic()
        for path in list(self.temps):
            if outputs.remove_if_orphan(path):
                log.info("orphan_removed", file=str(path))
            if not os.path.lexists(path):
                self.temps.pop(path, None)

    def _forget_gone(self) -> None:
        """Files (or whole folders) that left a watch: the ledger forgets them, unless running."""
        while not self.gone.empty():
            path = self.gone.get_nowait()
            for known in self.shared.ledger.known(path):
                entry = self.shared.ledger.get(known)
                if entry is not None and entry.state != "running":
                    self.shared.ledger.forget(known)

    def _settle_loop(self) -> None:
        while not self.shared.stopping.wait(0.2):
            self.settle_tick = time.monotonic()  # serve() stops the watchdog pings if this stalls
            try:
                self._forget_gone()
            except sqlite3.Error as exc:  # the ledger's disk is full: reconcile catches up later
                log.error("ledger_write_failed", error=str(exc))
            for settler in list(self.settlers.values()):
                for path, spec in settler.due():
                    self._observe(path, spec)
            self._sweep_temps()

    def _observe(self, path: Path, spec: WatchSpec | None) -> None:
        try:
            observe(self.shared, path, spec)
        except sqlite3.Error as exc:  # e.g. the ledger's disk is full: look again after the settle time
            log.error("ledger_write_failed", file=str(path), error=str(exc))
            self.settlers[spec.key if spec is not None else ""].touch(path, spec)

    def _reconcile(self) -> None:
        reconcile.reconcile(self.shared, self.settlers, specs(self.shared.settings))

    # -- run, reload, stop ----------------------------------------------------------
    def serve(self) -> None:
        """Block until stopped: watchdog pings, status lines and reloads happen here."""
        interval = _watchdog_interval()
        while not self._sleep(interval):
            if self.reload_requested.is_set():
                self.reload_requested.clear()
                self.reload()
            counts = self.shared.ledger.counts()
            settling = sum(s.pending() for s in self.settlers.values())
            status = _status_line(counts, settling)
            if self._stuck():
                continue  # no ping, no heartbeat: systemd's watchdog or the health check restarts us
            notify(f"WATCHDOG=1\nSTATUS={status}")
            beat(self.shared.settings.daemon.state_dir, status)

    def _stuck(self) -> bool:
        """The settle loop runs every 0.2 s; one that has not in STUCK_SECONDS is hung (a
        blocking call on a bad file): say so and let the watchdog see it."""
        quiet = time.monotonic() - self.settle_tick
        if quiet <= STUCK_SECONDS:
            return False
        log.error("daemon_stage_stuck", stage="settle", seconds=round(quiet), action="watchdog pings stopped")
        return True

    def _sleep(self, interval: float) -> bool:
        """Wait until the next watchdog ping, a stop or a reload request; True once stopped."""
        self._wakeup.wait(interval)
        self._wakeup.clear()
        return self.stopped.is_set()

    def reload(self) -> None:
        if self.reload_settings is None:
            return
        try:
            new = self.reload_settings()
            for spec in specs(new):
                self.locks.take(spec.path)
        except ConfigError as exc:
            log.error("reload_refused", error=str(exc), kept="the running configuration")
            return
        self.shared.settings = new
        if self.watcher is not None:
            self.watcher.stop()
        self._start_watcher()
        self._spawn(self._reconcile, "ingest-reconcile")
        log.info("config_reloaded", watches=[str(w.path) for w in new.watches])

    def request_stop(self) -> None:
        self.stopped.set()
        self._wakeup.set()

    def request_reload(self) -> None:
        self.reload_requested.set()
        self._wakeup.set()

    def stop(self) -> None:
        notify("STOPPING=1")
        timeout = self.shared.settings.daemon.stop_timeout
        self.shared.cancel_at = time.monotonic() + timeout
        self.shared.stopping.set()
        self.shared.wake.set()
        if self.watcher is not None:
            self.watcher.stop()
        self.locks.release()
        for worker in self.workers:
            worker.join(timeout + 30)
        for thread in self.threads:
            thread.join(10)
        self.sweeper.stop()
        self.shared.ledger.close()
        log.info("daemon_stopped")

    def install_signals(self) -> None:
        signal.signal(signal.SIGTERM, lambda *_: self.request_stop())
        signal.signal(signal.SIGINT, lambda *_: self.request_stop())
        signal.signal(signal.SIGHUP, lambda *_: self.request_reload())


def beat(state_dir: Path, status: str) -> None:
    """The heartbeat a container's health check reads (``ingest health``): the same tick
    as the systemd watchdog, written by rename so a reader never sees half a line."""
    target = state_dir / HEARTBEAT_NAME
    part = target.with_name(f".{HEARTBEAT_NAME}.{os.getpid()}")
    try:
        part.write_text(f"{time.time():.0f} {os.getpid()} {status}\n")
        part.replace(target)
    except OSError as exc:
        log.warning("heartbeat_not_written", path=str(target), error=exc.strerror)


def read_beat(state_dir: Path) -> tuple[float, str, str]:
    """The last heartbeat in ``state_dir``: its age in seconds, the daemon's pid, its status
    line. ``OSError`` when there is none, ``ValueError`` when it is not one."""
    stamp, _, rest = (state_dir / HEARTBEAT_NAME).read_text().partition(" ")
    pid, _, status = rest.strip().partition(" ")
    return time.time() - float(stamp), pid, status


def _watchdog_interval() -> float:
    usec = os.environ.get("WATCHDOG_USEC")
    return int(usec) / 2e6 if usec and usec.isdigit() else 5.0


def _status_line(counts: dict[str, int], settling: int) -> str:
    parts = [f"{counts.get(s, 0)} {s}" for s in ("running", "pending", "done", "failed", "skipped")]
    return ", ".join(parts) + f", {settling} settling"
