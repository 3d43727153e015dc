"""The daemon bench's Markdown: header, notes and one table per measurement."""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import os
import platform
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.daemon.measure import IDLE_WARMUP, Idle, Reconcile

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


def header(args: argparse.Namespace, started: datetime.datetime) -> list[str]:
    command = (
        f".venv/bin/python -m bench.daemon --files {args.files} --repeats {args.repeats} "
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
