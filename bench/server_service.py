"""One real HTTP service for the server bench: ``ingest run`` with ``[server] enabled``
(``ingest serve`` when there is no folder to watch).

The same parts as ``tests/support/httpservice.py`` (a real daemon, the shipped ``tiny.en``
on the CPU, one worker, real uvicorn on a free loopback port, a fresh state folder), but
in a process of its own: its RSS is the server's alone, and the bench's clients (threads
hammering ``/status``, a 2 GB upload generator) share no interpreter lock with it.
Its JSON log is read as it grows (``bench.daemon.process.LogTail``).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.daemon.process import LogTail

ROOT = Path(__file__).resolve().parents[1]
LEDGER = "ledger.sqlite3"  # ingest.daemon.service.LEDGER_NAME
START_TIMEOUT = 120.0
STOP_TIMEOUT = 60.0


class Service:
    """``ingest run`` serving HTTP on loopback over ``folder/state``; stopped when the block ends."""

    def __init__(self, folder: Path, watch: Path | None = None, max_upload_mb: int = 3072) -> None:
        self.folder, self.watch, self.max_upload_mb = folder, watch, max_upload_mb
        self.state = folder / "state"
        self.log = LogTail(folder / "service.log")
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    def __enter__(self) -> Service:
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / "ingest.toml"
        config.write_text(self._toml())
        verb = "serve" if self.watch is None else "run"  # `ingest run` refuses to watch nothing
        command = [sys.executable, "-m", "ingest", "--config", str(config), "--log-format", "json", verb]
        with self.log.path.open("wb") as stderr:
            self.proc = subprocess.Popen(
                command, cwd=ROOT, env=_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr
            )
        try:
            self.url = self.wait_for("server_listening", timeout=START_TIMEOUT)["url"]
        except BaseException:
            self.__exit__(None, RuntimeError(), None)
            raise
        return self

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        self.stop()
        if exc is not None and self.log.path.exists():
            print(f"--- service log, last lines ---\n{self.log.tail()}", file=sys.stderr)

    def _toml(self) -> str:
        text = (
            '[transcribe]\nmodel = "tiny.en"\ndevice = "cpu"\n'
            f"[daemon]\nstate_dir = {json.dumps(str(self.state))}\nworkers = 1\nstop_timeout = 5\n"
            f'[server]\nenabled = true\nlisten = "127.0.0.1:0"\nmax_upload_mb = {self.max_upload_mb}\n'
        )
        if self.watch is not None:  # a backfill: the start's walk finds every file already there
            text += f"[[watches]]\npath = {json.dumps(str(self.watch))}\nsettle_seconds = 0.5\n"
        return text

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def wait_for(self, event: str, timeout: float, **match: str) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            self.log.poll()
            if (found := self.log.find((event,), **match)) is not None:
                return found
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"the service exited ({self.proc and self.proc.returncode})")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {event} {match or ''} in {timeout:g} s")
            time.sleep(0.05)

    def started(self, paths: set[str]) -> list[dict[str, Any]]:
        """The ``job_started`` events of these ledger paths, as logged so far."""
        self.log.poll()
        return [e for e in self.log.events if e.get("event") == "job_started" and e.get("file") in paths]

    def rows(self) -> list[dict[str, Any]]:
        """Every job in the ledger, read through a read-only connection of our own."""
        db = sqlite3.connect(f"file:{self.state / LEDGER}?mode=ro", uri=True, timeout=10)
        db.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in db.execute("SELECT * FROM files ORDER BY rowid")]
        finally:
            db.close()

    def spool(self) -> list[Path]:
        folder = self.state / "server" / "spool"
        return sorted(folder.iterdir()) if folder.is_dir() else []

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid


def _env() -> dict[str, str]:
    """Ours, minus anything that would point the service at another config or systemd."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGEST_")}
    for key in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "STATE_DIRECTORY"):
        env.pop(key, None)
    return env
