"""The daemon bench's three measurements: drop latency, start-up reconciliation, idle CPU."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.daemon.media import JFK, seed_ledger
from bench.daemon.process import LEDGER, Daemon, Variant

SETTLE_DROP = 1.0
SETTLE_TREE = 0.5
IDLE_WARMUP = 15.0  # after watch_reconciled: a few polls pass before the idle window opens
ENDED = ("job_done", "job_failed", "job_skipped")


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
