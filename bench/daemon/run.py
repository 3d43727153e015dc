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

    .venv/bin/python -m bench.daemon [--files 10000] [--repeats 3] [--idle-seconds 60] [--drops 10]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bench.daemon.measure import idle, latency, reconcile
from bench.daemon.media import make_tree
from bench.daemon.report import (
    IDLE_NOTE,
    LATENCY_NOTE,
    RECONCILE_NOTE,
    header,
    idle_table,
    latency_table,
    reconcile_table,
)
from ingest import log as ingest_log

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results" / "daemon.md"


def run(args: argparse.Namespace, work: Path) -> list[str]:
    out = [f"## 1. Drop to job start ({args.drops} drops each)", "", LATENCY_NOTE, ""]
    out += latency_table(latency(work, args.drops))
    tree = make_tree(work / "tree", args.files)
    out += ["", f"## 2. Start on {args.files} files, empty ledger ({args.repeats} runs each)", "", RECONCILE_NOTE, ""]
    out += reconcile_table(reconcile(work, tree, args.files, args.repeats), args.files)
    out += ["", f"## 3. Idle on {args.files} files already run", "", IDLE_NOTE, ""]
    windows, facts = idle(work, tree, args.repeats, args.idle_seconds)
    return out + idle_table(windows, facts, args.idle_seconds)


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
