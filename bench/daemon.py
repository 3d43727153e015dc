"""The daemon end to end, native (inotify) watches against polling, side by side in one run.

Every figure comes from the real daemon: ``python -m ingest run`` as a subprocess with
``tiny.en``, its JSON log on stderr going to a file that we read as it grows.

1. Latency: a copy of ``jfk.flac`` dropped into a watched folder (settle 1 s); drop →
   ``job_queued`` (the settle time is in it) and ``job_queued`` → ``job_started`` (a worker
   claimed the job). Both daemons run at once and the drops alternate between them.
2. Reconciliation: a fresh daemon on a tree of small fake ``.mkv`` files and an empty
   ledger (settle 0.5 s); seconds from process start to ``daemon_ready``, to
   ``watch_reconciled`` and to every file being in the ledger (read-only SQLite polls),
   and the peak RSS. The worker fails the fake files meanwhile, as it would.
3. Idle: both daemons at once on the same tree with a ledger where every file has already
   run; CPU seconds over a window, as % of one core.

    .venv/bin/python bench/daemon.py [--files 10000] [--repeats 3] [--idle-seconds 60] [--drops 10]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.metadata
import json
import os
import platform
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest import log as ingest_log
from ingest.fingerprint import fingerprint
from ingest.ledger import Ledger
from ingest.selection import WatchSpec, scan

JFK = ROOT.parent / "shared" / "media" / "jfk.flac"
RESULTS = ROOT / "bench" / "results" / "daemon.md"
LEDGER = "ledger.sqlite3"  # ingest.daemon.LEDGER_NAME, without importing the daemon here
SETTLE_DROP = 1.0
SETTLE_TREE = 0.5
STOP_TIMEOUT = 60.0  # SIGTERM, then SIGKILL: the daemon lets a running job finish first
IDLE_WARMUP = 15.0  # after watch_reconciled: a few polls pass before the idle window opens
TICK = 0.05
ENDED = ("job_done", "job_failed", "job_skipped")
OWNER = "bench:0:w0"


@dataclass(frozen=True)
class Variant:
    key: str
    polling: bool
    poll_interval: float = 5.0

    @property
    def name(self) -> str:
        return f"polling {self.poll_interval:g} s" if self.polling else "native (inotify)"


@dataclass(frozen=True)
class Reconcile:
    """One start on the tree with an empty ledger; seconds are from process start."""

    ready: float
    reconciled: float
    scan: float  # watch_reconciled's own seconds
    ledger: float  # the bench's read-only poll first saw every file
    last_queued: float  # the files-th job_queued event
    rss_mib: float
    cpu: float  # the daemon's own utime + stime
    child_cpu: float  # ffprobe and friends, reaped
    failed_jobs: int
    stop: float


@dataclass(frozen=True)
class Idle:
    """One idle window: % of one core per daemon, and how busy the whole machine was."""

    percent: dict[str, float]
    machine: float


class LogTail:
    """The daemon's JSON log lines, parsed as the file grows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.events: list[dict[str, Any]] = []
        self._rest = b""
        self._offset = 0

    def poll(self) -> None:
        with self.path.open("rb") as handle:
            handle.seek(self._offset)
            data = handle.read()
        self._offset += len(data)
        *lines, self._rest = (self._rest + data).split(b"\n")
        self.events.extend(e for e in map(_parse, lines) if e is not None)

    def find(self, events: Sequence[str], **match: str) -> dict[str, Any] | None:
        for event in self.events:
            if event.get("event") in events and all(event.get(k) == v for k, v in match.items()):
                return event
        return None

    def count(self, event: str) -> int:
        return sum(1 for e in self.events if e.get("event") == event)

    def tail(self, lines: int = 25) -> str:
        return "\n".join(self.path.read_text(errors="replace").splitlines()[-lines:])


def _parse(line: bytes) -> dict[str, Any] | None:
    """One JSON event with its timestamp as epoch seconds in ``t``; None for other lines."""
    try:
        event = json.loads(line)
        event["t"] = datetime.datetime.fromisoformat(event["timestamp"]).timestamp()
    except (ValueError, KeyError, TypeError):
        return None
    return event


class Daemon:
    """One ``ingest run`` subprocess, stopped (SIGTERM, then SIGKILL) when the block ends."""

    def __init__(self, folder: Path, watch: Path, variant: Variant, settle: float) -> None:
        self.folder, self.watch, self.variant, self.settle = folder, watch, variant, settle
        self.state = folder / "state"
        self.log = LogTail(folder / "daemon.log")
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0
        self.stop_seconds = float("nan")

    def __enter__(self) -> Daemon:
        self.folder.mkdir(parents=True, exist_ok=True)
        command = self._command()
        with self.log.path.open("wb") as stderr:
            self.started = time.time()
            self.proc = subprocess.Popen(
                command, cwd=ROOT, env=_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr
            )
        return self

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        self.stop()
        if exc is not None and self.log.path.exists():
            print(f"--- {self.variant.name} daemon log, last lines ---\n{self.log.tail()}", file=sys.stderr)

    def _command(self) -> list[str]:
        config = self.folder / "ingest.toml"
        config.write_text(_polling_toml(self.watch, self.variant, self.settle) if self.variant.polling else "")
        base = [sys.executable, "-m", "ingest", "--config", str(config), "--log-format", "json", "run"]
        base += ["--state-dir", str(self.state)]
        if self.variant.polling:  # --watch would replace the config's [[watches]]
            return base
        return [*base, "--watch", str(self.watch), "--settle-seconds", str(self.settle)]

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        begun = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            print(f"{self.variant.name}: no exit {STOP_TIMEOUT:g} s after SIGTERM; SIGKILL", file=sys.stderr)
            self.proc.kill()
            self.proc.wait()
        self.stop_seconds = time.monotonic() - begun

    def check_alive(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.variant.name} daemon exited with status {self.proc.returncode}")

    def wait_for(self, *events: str, timeout: float, **match: str) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            self.log.poll()
            if (found := self.log.find(events, **match)) is not None:
                return found
            self.check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.variant.name}: no {'/'.join(events)} {match or ''} in {timeout:g} s")
            time.sleep(TICK)

    def peak_rss_mib(self) -> float:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmHWM in /proc status")

    def cpu_seconds(self) -> tuple[float, float]:
        """(own utime + stime, reaped children's) in seconds, every thread included."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks, (int(fields[13]) + int(fields[14])) / ticks


def _env() -> dict[str, str]:
    """Ours, minus anything that would point the daemon at another config or systemd."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGEST_")}
    for key in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "STATE_DIRECTORY"):
        env.pop(key, None)
    env["INGEST_TRANSCRIBE__MODEL"] = "tiny.en"
    env["INGEST_DAEMON__MAX_ATTEMPTS"] = "1"  # a fake file fails once and is done
    return env


def _polling_toml(watch: Path, variant: Variant, settle: float) -> str:
    return (
        f"[[watches]]\npath = {json.dumps(str(watch))}\nsettle_seconds = {settle}\n"
        f"polling = true\npoll_interval = {variant.poll_interval}\n"
    )


def _alternate(items: Sequence[Any], round_: int) -> Sequence[Any]:
    """Alternate the order from round to round, so drift hits every variant alike."""
    return items if round_ % 2 == 0 else items[::-1]


def _check_mode(daemon: Daemon) -> None:
    started = daemon.wait_for("watch_started", timeout=60)
    wanted = "polling" if daemon.variant.polling else "native"
    if started["mode"] != wanted:
        raise RuntimeError(f"{daemon.variant.name}: the daemon watches in {started['mode']} mode")


# -- 1. latency -----------------------------------------------------------------------


def latency(work: Path, drops: int) -> dict[str, list[tuple[float, float]]]:
    """Per variant, (drop → queued, queued → started) for each drop after a warm-up drop."""
    variants = (Variant("native", False), Variant("polling", True, 1.0))
    samples: dict[str, list[tuple[float, float]]] = {v.name: [] for v in variants}
    with contextlib.ExitStack() as stack:
        daemons = [stack.enter_context(_empty_watch(work / f"latency-{v.key}", v)) for v in variants]
        for daemon in daemons:
            _check_mode(daemon)
            daemon.wait_for("daemon_ready", timeout=60)
        for index in range(drops + 1):  # drop 0 loads the model: not counted
            for daemon in _alternate(daemons, index):
                sample = drop(daemon, index)
                if index:
                    samples[daemon.variant.name].append(sample)
    return samples


def _empty_watch(folder: Path, variant: Variant) -> Daemon:
    watch = folder / "watch"
    watch.mkdir(parents=True)
    return Daemon(folder, watch, variant, SETTLE_DROP)


def drop(daemon: Daemon, index: int) -> tuple[float, float]:
    """Copy the clip in; (drop → job_queued, job_queued → job_started). Waits for the job's end."""
    time.sleep(random.uniform(0.0, 1.0))  # no phase lock with the settle loop or the polls
    target = daemon.watch / f"clip-{index:03d}.flac"
    shutil.copyfile(JFK, target)
    dropped = time.time()
    queued = daemon.wait_for("job_queued", timeout=60, file=str(target))
    started = daemon.wait_for("job_started", timeout=30, file=str(target))
    ended = daemon.wait_for(*ENDED, timeout=180, file=str(target))
    if ended["event"] != "job_done":
        raise RuntimeError(f"{target}: {ended['event']}: {ended.get('error')}")
    return queued["t"] - dropped, started["t"] - queued["t"]


# -- 2. reconciliation ------------------------------------------------------------------


def make_tree(root: Path, files: int, per_folder: int = 100) -> Path:
    """``files`` fake .mkv files of a dozen bytes, ``per_folder`` to a folder."""
    for n in range(files):
        folder = root / f"show-{n // per_folder:03d}"
        if n % per_folder == 0:
            folder.mkdir(parents=True)
        (folder / f"episode-{n % per_folder:03d}.mkv").write_bytes(b"not a video\n")
    return root


def reconcile(work: Path, tree: Path, files: int, repeats: int) -> dict[str, list[Reconcile]]:
    variants = (Variant("native", False), Variant("polling", True, 5.0))
    runs: dict[str, list[Reconcile]] = {v.name: [] for v in variants}
    for round_ in range(repeats):
        for variant in _alternate(variants, round_):
            runs[variant.name].append(reconcile_once(work / f"reconcile-{variant.key}-{round_}", tree, variant, files))
    return runs


def reconcile_once(folder: Path, tree: Path, variant: Variant, files: int) -> Reconcile:
    with Daemon(folder, tree, variant, SETTLE_TREE) as daemon:
        in_ledger = wait_rows(daemon, files, timeout=60 + files / 20)
        rss, (cpu, child_cpu) = daemon.peak_rss_mib(), daemon.cpu_seconds()
    daemon.log.poll()
    _check_mode(daemon)
    result = _reconcile_result(daemon, files, in_ledger, rss, cpu, child_cpu)
    shutil.rmtree(folder)
    return result


def wait_rows(daemon: Daemon, files: int, timeout: float) -> float:
    """Seconds from process start until the ledger holds ``files`` rows."""
    deadline = time.monotonic() + timeout
    while _rows(daemon.state / LEDGER) < files:
        daemon.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{daemon.variant.name}: {_rows(daemon.state / LEDGER)} of {files} rows after {timeout:g} s"
            )
        time.sleep(0.1)
    return time.time() - daemon.started


def _rows(path: Path) -> int:
    """``count(*)`` of the ledger's files, read-only; 0 until the daemon has made it."""
    if not path.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
            return db.execute("SELECT count(*) FROM files").fetchone()[0]
    except sqlite3.OperationalError:  # the schema is not there yet
        return 0


def _reconcile_result(daemon: Daemon, files: int, in_ledger: float, rss: float, cpu: float, child: float) -> Reconcile:
    log, t0 = daemon.log, daemon.started
    queued = sorted(e["t"] for e in log.events if e.get("event") == "job_queued")
    reconciled = log.find(["watch_reconciled"])
    ready = log.find(["daemon_ready"])
    assert reconciled and ready and len(queued) >= files, f"{daemon.variant.name}: events missing in the log"
    failed = sum(1 for e in log.events if e.get("event") == "job_failed" and e["t"] <= t0 + in_ledger)
    return Reconcile(
        ready=ready["t"] - t0,
        reconciled=reconciled["t"] - t0,
        scan=reconciled["seconds"],
        ledger=in_ledger,
        last_queued=queued[files - 1] - t0,
        rss_mib=rss,
        cpu=cpu,
        child_cpu=child,
        failed_jobs=failed,
        stop=daemon.stop_seconds,
    )


# -- 3. idle --------------------------------------------------------------------------


def seed_ledger(folder: Path, tree: Path) -> Path:
    """A ledger in which every file of ``tree`` has run and failed, as the daemon leaves it
    once it has tried them all; made through the ledger's own API, not by hand."""
    path = folder / LEDGER
    with Ledger(path) as ledger:
        for media in scan(WatchSpec(tree, key=str(tree))):
            ledger.observe(media, fingerprint(media), watch=str(tree))
        while (entry := ledger.claim(OWNER, 60)) is not None:
            ledger.finish_failed(entry.path, OWNER, "bench: not media", 1, lambda _: 0.0)
    return path


def idle(work: Path, tree: Path, repeats: int, seconds: float) -> tuple[list[Idle], dict[str, dict[str, Any]]]:
    """Idle windows with both daemons up at once, and per daemon its restart figures."""
    seed = seed_ledger(work / "seed", tree)
    variants = (Variant("native", False), Variant("polling", True, 5.0))
    with contextlib.ExitStack() as stack:
        daemons = [stack.enter_context(_seeded(work / f"idle-{v.key}", tree, v, seed)) for v in variants]
        for daemon in daemons:
            _check_mode(daemon)
            daemon.wait_for("watch_reconciled", timeout=120)
        time.sleep(IDLE_WARMUP)
        windows = [idle_window(daemons, seconds) for _ in range(repeats)]
        facts = {d.variant.name: _restart_facts(d) for d in daemons}
    return windows, facts


def _seeded(folder: Path, tree: Path, variant: Variant, seed: Path) -> Daemon:
    (folder / "state").mkdir(parents=True)
    shutil.copyfile(seed, folder / "state" / LEDGER)
    return Daemon(folder, tree, variant, SETTLE_TREE)


def idle_window(daemons: Sequence[Daemon], seconds: float) -> Idle:
    before = [d.cpu_seconds()[0] for d in daemons]
    machine = _machine_ticks()
    time.sleep(seconds)
    after = [d.cpu_seconds()[0] for d in daemons]
    busy, total = (b - a for a, b in zip(machine, _machine_ticks(), strict=True))
    percent = {d.variant.name: 100 * (y - x) / seconds for d, x, y in zip(daemons, before, after, strict=True)}
    return Idle(percent, 100 * busy / total * (os.cpu_count() or 1))


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, all cores, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle_ticks = values[3] + values[4]  # idle + iowait
    return sum(values) - idle_ticks, sum(values)


def _restart_facts(daemon: Daemon) -> dict[str, Any]:
    daemon.log.poll()
    reconciled = daemon.log.find(["watch_reconciled"])
    assert reconciled is not None
    return {
        "reconciled": reconciled["t"] - daemon.started,
        "scan": reconciled["seconds"],
        "files": reconciled["files"],
        "rss": daemon.peak_rss_mib(),
        "jobs": daemon.log.count("job_started"),
    }


# -- report ---------------------------------------------------------------------------


def spread(values: Sequence[float], digits: int = 3) -> str:
    """Median (min-max)."""
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def latency_table(samples: dict[str, list[tuple[float, float]]]) -> list[str]:
    rows = [
        "| watch | drops | drop → job_queued s | job_queued → job_started s | drop → job_started s |",
        "|---|---|---|---|---|",
    ]
    for name, pairs in samples.items():
        queued, started = [q for q, _ in pairs], [s for _, s in pairs]
        total = [q + s for q, s in pairs]
        rows.append(f"| {name} | {len(pairs)} | {spread(queued)} | {spread(started, 4)} | {spread(total)} |")
    return rows


def reconcile_table(runs: dict[str, list[Reconcile]], files: int) -> list[str]:
    rows = [
        f"| watch | runs | daemon_ready s | watch_reconciled s (scan s) | {files} in ledger s (poll) | "
        "last job_queued s | peak RSS MiB | CPU s daemon / children | jobs failed by then | SIGTERM → exit s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, results in runs.items():
        med = {f: statistics.median(getattr(r, f) for r in results) for f in Reconcile.__dataclass_fields__}
        rows.append(
            f"| {name} | {len(results)} | {spread([r.ready for r in results], 2)} | "
            f"{spread([r.reconciled for r in results], 2)} ({med['scan']:.2f}) | "
            f"{spread([r.ledger for r in results], 2)} | {spread([r.last_queued for r in results], 2)} | "
            f"{med['rss_mib']:.0f} | {med['cpu']:.1f} / {med['child_cpu']:.1f} | {med['failed_jobs']:.0f} | "
            f"{spread([r.stop for r in results], 1)} |"
        )
    return rows


def idle_table(windows: list[Idle], facts: dict[str, dict[str, Any]], seconds: float) -> list[str]:
    rows = [
        "| watch | windows | idle CPU % of one core, median (each window) | restart: watch_reconciled s (scan s) | "
        "files | peak RSS MiB | jobs run |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, fact in facts.items():
        each = [w.percent[name] for w in windows]
        listed = ", ".join(f"{v:.2f}" for v in each)
        rows.append(
            f"| {name} | {len(windows)} x {seconds:g} s | {statistics.median(each):.2f} ({listed}) | "
            f"{fact['reconciled']:.2f} ({fact['scan']:.2f}) | {fact['files']} | {fact['rss']:.0f} | {fact['jobs']} |"
        )
    busy = ", ".join(f"{w.machine:.0f}" for w in windows)
    return [*rows, "", f"Whole machine during the windows, % of one core (all processes): {busy}."]


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "unknown CPU")
    mem = int(Path("/proc/meminfo").read_text().split()[1]) / 2**20
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{model}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, {platform.platform()}, "
        f"Python {platform.python_version()}, watchdog {importlib.metadata.version('watchdog')}; "
        f"load average at start {load}"
    )


# -- main -----------------------------------------------------------------------------

LATENCY_NOTE = (
    "Both daemons run at once (settle 1 s), each on its own empty folder; drops alternate between them, "
    "each after a random 0-1 s pause and once the previous job has ended. Drop time is the bench's clock "
    "right after the copy; the other two are the daemon's log timestamps. Drop 0 (model load) is not "
    "counted. Median (min-max)."
)
RECONCILE_NOTE = (
    "A fresh daemon and an empty ledger per run (settle 0.5 s, polling interval 5 s, max_attempts 1); "
    "runs alternate native/polling. Seconds from just before the process starts. `in ledger` is when the "
    "bench's read-only `SELECT count(*) FROM files` (every 0.1 s) first saw every file; `last job_queued` "
    "is the daemon's own timestamp of the last insert. RSS is VmHWM and CPU is utime + stime from /proc, "
    "read just before SIGTERM; children are the reaped ffprobe runs of the worker, which fails the fake "
    "files while the ledger fills. Median (min-max)."
)
IDLE_NOTE = (
    "Both daemons run at once on the same tree (polling interval 5 s), each with a copy of a ledger in which "
    "every file has already run and failed, made through `Ledger.observe/claim/finish_failed` (the state the "
    "daemon reaches once it has tried every fake file, without waiting for thousands of ffprobe runs). "
    f"Each starts, reconciles (finds nothing new), then after {IDLE_WARMUP:g} s the windows begin: "
    "utime + stime of the daemon from /proc/<pid>/stat at both ends."
)


def run(args: argparse.Namespace, work: Path) -> list[str]:
    out = [f"## 1. Drop to job start ({args.drops} drops each)", "", LATENCY_NOTE, ""]
    out += latency_table(latency(work, args.drops))
    tree = make_tree(work / "tree", args.files)
    out += ["", f"## 2. Start on {args.files} files, empty ledger ({args.repeats} runs each)", "", RECONCILE_NOTE, ""]
    out += reconcile_table(reconcile(work, tree, args.files, args.repeats), args.files)
    out += ["", f"## 3. Idle on {args.files} files already run", "", IDLE_NOTE, ""]
    windows, facts = idle(work, tree, args.repeats, args.idle_seconds)
    return out + idle_table(windows, facts, args.idle_seconds)


def header(args: argparse.Namespace, started: datetime.datetime) -> list[str]:
    command = (
        f".venv/bin/python bench/daemon.py --files {args.files} --repeats {args.repeats} "
        f"--idle-seconds {args.idle_seconds:g} --drops {args.drops}"
    )
    return [
        "# Daemon: drop latency, start-up reconciliation and idle cost, native against polling",
        "",
        f"{started:%Y-%m-%d %H:%M} UTC, {machine()}.",
        "",
        f"    {command}",
        "",
    ]


@contextlib.contextmanager
def _terminable() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so every daemon is stopped and the temp tree removed."""

    def bail(*_: object) -> None:
        raise SystemExit(143)

    previous = signal.signal(signal.SIGTERM, bail)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--idle-seconds", type=float, default=60.0)
    ap.add_argument("--drops", type=int, default=10, help="clips dropped per variant for the latency")
    args = ap.parse_args()
    ingest_log.setup("warning", "console")
    started = datetime.datetime.now(datetime.UTC)
    with _terminable(), tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
        lines = header(args, started) + run(args, Path(tmp).resolve())
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
