"""One ``ingest run`` subprocess for the daemon bench, and its JSON log read as it grows."""

from __future__ import annotations

import datetime
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LEDGER = "ledger.sqlite3"  # ingest.daemon.LEDGER_NAME, without importing the daemon here
STOP_TIMEOUT = 60.0  # SIGTERM, then SIGKILL: the daemon lets a running job finish first
TICK = 0.05


@dataclass(frozen=True)
class Variant:
    key: str
    polling: bool
    poll_interval: float = 5.0

    @property
    def name(self) -> str:
        return f"polling {self.poll_interval:g} s" if self.polling else "native (inotify)"


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
