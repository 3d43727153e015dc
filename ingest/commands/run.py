"""Operator commands: ``ingest run``, ``status``, ``retry`` and ``scan``.

They share the daemon's ledger, so a backfill is resumable and ``status`` shows the
running daemon's work.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ingest import plugins, settings
from ingest.daemon import reconcile
from ingest.daemon import service as daemon_mod
from ingest.daemon.mediafiles import WatchSpec, scan
from ingest.daemon.worker import Shared, Worker, keep_leases
from ingest.errors import ConfigError
from ingest.ledger import checks
from ingest.ledger.sqlite import Ledger


def add_parsers(sub: Any) -> None:
    run = sub.add_parser("run", help="watch folders and transcribe what arrives (the daemon)")
    run.add_argument("--watch", action="append", type=Path, metavar="PATH", help="watch this folder (repeatable)")
    run.add_argument("--settle-seconds", type=float, help="seconds a file must stand still to count as arrived")
    run.add_argument("--state-dir", type=Path, help="where the ledger lives")
    run.add_argument(
        "--default-watch",
        action="append",
        type=Path,
        metavar="PATH",
        help="watch this folder when the settings name none (the container watches /media)",
    )
    health = sub.add_parser("health", help="exit 0 while a daemon on this state folder is alive (health checks)")
    health.add_argument("--state-dir", type=Path)
    health.add_argument("--max-age", type=float, default=60.0, help="seconds since the last heartbeat (default 60)")
    status = sub.add_parser("status", help="counts by state, running jobs, recent failures")
    status.add_argument("--state-dir", type=Path)
    retry = sub.add_parser("retry", help="queue a file, or every failed file, again")
    retry.add_argument("path", nargs="?", type=Path)
    retry.add_argument("--failed", action="store_true", help="every file that failed")
    retry.add_argument("--state-dir", type=Path)
    backfill = sub.add_parser("scan", help="backfill a library: transcribe every file under PATH not done yet")
    backfill.add_argument("path", type=Path)
    backfill.add_argument("--dry-run", action="store_true", help="list what would be done, do nothing")
    backfill.add_argument("--state-dir", type=Path)


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if getattr(args, "watch", None):
        settle = {"settle_seconds": args.settle_seconds} if args.settle_seconds is not None else {}
        extra["watches"] = [{"path": str(p), **settle} for p in args.watch]
    if args.state_dir:
        extra["daemon"] = {"state_dir": str(args.state_dir)}
    return extra


def cmd_run(args: argparse.Namespace) -> int:
    from ingest.commands import serve
    from ingest.commands.cli import boot

    extra = overrides(args)
    if args.default_watch and not settings.load(args.config, args.env_file, **extra).watches:
        extra["watches"] = [{"path": str(p)} for p in args.default_watch]
    conf, host = boot(args, extra)
    _require_watches(conf)
    with host.serving(conf, command="run"):
        service = daemon_mod.Daemon(conf, host, reload=lambda: _reload(args, extra, host))
        service.install_signals()
        service.start()
        try:
            with serve.with_server(service):  # [server] enabled: requests join the same queue
                service.serve()
        finally:
            service.stop()
    return 0


def _reload(args: argparse.Namespace, extra: dict[str, Any], host: plugins.Host) -> settings.Settings:
    conf = settings.load(args.config, args.env_file, **extra)
    plugins.check_choices(host, conf.transcribe.engine, conf.output.formats)
    _require_watches(conf)  # a reload that drops every watch would leave a daemon that does nothing
    return conf


def _require_watches(conf: settings.Settings) -> None:
    if not conf.watches:
        raise ConfigError("nothing to watch: add [[watches]] to the config file, or pass --watch PATH")


def open_ledger(args: argparse.Namespace) -> tuple[settings.Settings, Ledger]:
    """The daemon's ledger for ``status`` and ``retry``, which never make one."""
    conf = settings.load(args.config, args.env_file, **overrides(args))
    path = conf.daemon.state_dir / daemon_mod.LEDGER_NAME
    checks.require_existing(path)
    return conf, Ledger(path)


def cmd_status(args: argparse.Namespace) -> int:
    conf, ledger = open_ledger(args)
    try:
        counts = ledger.counts()
        print("  ".join(f"{state}: {n}" for state, n in counts.items()))
        for entry in ledger.running():
            print(f"running  {entry.progress:4.0%}  {entry.path}  ({entry.owner})")
        for entry in ledger.retrying(10):  # pending again after a failure: say why, and when
            wait = max(0, round(entry.next_attempt_at - time.time()))
            tries = f"{entry.attempts} of {conf.daemon.max_attempts} attempts, next in {wait} s"
            print(f"retrying {tries}  {entry.path}: {entry.last_error}")
        for entry in ledger.failures(10):
            print(f"failed   {entry.attempts} attempts  {entry.path}: {entry.last_error}")
        for entry in ledger.skipped(10):
            print(f"skipped  {entry.path}: {entry.reason}")
    finally:
        ledger.close()
    return 0


def cmd_health(args: argparse.Namespace) -> int:
    """0 when the daemon's heartbeat in the state folder is fresh, else 1 with the reason."""
    conf = settings.load(args.config, args.env_file, **overrides(args))
    path = conf.daemon.state_dir / daemon_mod.HEARTBEAT_NAME
    try:
        age, pid, status = daemon_mod.read_beat(conf.daemon.state_dir)
    except (OSError, ValueError) as exc:
        print(f"unhealthy: no daemon heartbeat at {path} ({getattr(exc, 'strerror', None) or exc})")
        return 1
    if age > args.max_age:
        print(f"unhealthy: the daemon's last heartbeat ({path}) is {age:.0f} s old (pid {pid}): {status}")
        return 1
    print(f"healthy: pid {pid}, {age:.0f} s ago: {status}")
    return 0


def cmd_retry(args: argparse.Namespace) -> int:
    if not args.failed and args.path is None:
        raise ConfigError("retry needs a PATH or --failed")
    _, ledger = open_ledger(args)
    try:
        changed = ledger.retry(None if args.failed else args.path.resolve(), failed=args.failed)
    finally:
        ledger.close()
    print(f"{changed} file(s) queued again")
    return 0 if changed or args.failed else 1


def cmd_scan(args: argparse.Namespace) -> int:
    from ingest.commands.cli import boot

    conf, host = boot(args, overrides(args))
    root = args.path.expanduser().resolve()
    if not root.is_dir():
        raise ConfigError(f"scan: {root} is not a folder")
    shared = Shared(conf, host, Ledger(conf.daemon.state_dir / daemon_mod.LEDGER_NAME), scope=root)
    try:
        if not args.dry_run:  # files a killed scan or daemon left running would wait forever
            reconcile.take_back_orphans(shared.ledger)
        todo = _queue(shared.ledger, root, dry_run=args.dry_run)
        if args.dry_run:
            print("\n".join(str(p) for p in todo) + f"\n{len(todo)} file(s) to transcribe (dry run)")
            return 0
        # Ctrl-C and SIGTERM both hand the work back, even when started with SIGINT ignored (nohup, CI)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        with host.serving(conf, command="scan"):
            return _backfill(shared, todo)
    finally:
        shared.ledger.close()


def _queue(ledger: Ledger, root: Path, dry_run: bool) -> list[Path]:
    """Every wanted file under ``root`` that is new or changed, queued unless a dry run."""
    todo = []
    for path in scan(WatchSpec(root, key=str(root))):
        entry = ledger.get(path)
        finished = entry is not None and entry.state not in ("pending", "running")
        if finished and not reconcile.changed_since(entry, path):  # the entry already read
            continue
        # look(): an unreadable file is recorded failed with its reason, and reported below
        if dry_run or ledger.look(path, watch=str(root)) or entry is not None:
            todo.append(path)
    return todo


def _backfill(shared: Shared, todo: list[Path]) -> int:
    worker = Worker(shared, 0)
    worker.start()
    leases = threading.Thread(target=keep_leases, args=(shared,), name="ingest-leases")
    leases.start()
    columns = (TextColumn("scan"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task("files", total=len(todo))
        try:
            while (left := _unfinished(shared.ledger, todo)) > 0:
                bar.update(task, completed=len(todo) - left)
                time.sleep(0.5)
            bar.update(task, completed=len(todo))
        finally:
            shared.cancel_at = time.monotonic() + shared.settings.daemon.stop_timeout
            shared.stopping.set()
            shared.wake.set()
            worker.join()
            leases.join()
    failed = [(p, e) for p in todo if (e := shared.ledger.get(p)) is not None and e.last_error and e.state != "done"]
    print(f"{len(todo)} file(s): {len(todo) - len(failed)} done or skipped, {len(failed)} failed")
    for path, entry in failed:
        print(f"error: {path}: {entry.last_error}", file=sys.stderr)
    return 1 if failed else 0


def _unfinished(ledger: Ledger, todo: list[Path]) -> int:
    """Files still to run now; one that failed and waits for its retry counts as finished here."""
    return sum(1 for p in todo if (e := ledger.get(p)) is not None and _busy(e.state, e.attempts))


def _busy(state: str, attempts: int) -> bool:
    return state == "running" or (state == "pending" and attempts == 0)
