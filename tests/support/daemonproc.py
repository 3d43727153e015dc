"""A real ``python -m ingest`` process for daemon tests: started, read through its
JSON log, signalled, and always reaped.

Each process gets its own log file (stderr, one JSON object a line off a terminal)
and its own session, so a test can kill it, and everything it started, even when the
test itself fails halfway. Waiting is polling with a deadline, never a fixed sleep.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

POLL = 0.05  # seconds between looks at a log file or a process
DEFAULT_TIMEOUT = 60.0


def wait_until(check: Callable[[], Any], timeout: float, what: str, detail: Callable[[], str] = str) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{detail()}")
        time.sleep(POLL)


def read_events(log: Path) -> list[dict]:
    """The complete JSON lines of ``log`` (a line still being written is left for later)."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    events = []
    for line in text.split("\n")[:-1]:
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # an engine's stray output interleaved with ours
    return events


def matches(event: dict, name: str | None, fields: dict[str, Any]) -> bool:
    return (name is None or event.get("event") == name) and all(event.get(k) == v for k, v in fields.items())


class IngestProcess:
    """One ``python -m ingest ARGS`` child with stdout and stderr in files under ``folder``."""

    def __init__(
        self, args: list[str | Path], env: dict[str, str], folder: Path, name: str, prefix: Sequence[str] = ()
    ) -> None:
        self.args = [str(a) for a in args]
        self.prefix = list(prefix)  # e.g. setpriv, to run without root's power over permissions
        self.env = env
        self.log = folder / f"{name}.log"
        self.out = folder / f"{name}.out"
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0

    def start(self) -> IngestProcess:
        with self.log.open("wb") as err, self.out.open("wb") as out:
            self.proc = subprocess.Popen(
                [*self.prefix, sys.executable, "-m", "ingest", *self.args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=self.env,
                start_new_session=True,  # its own process group: cleanup reaches its children too
            )
        self.started = time.monotonic()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None, "not started"
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # -- the log -------------------------------------------------------------------
    def events(self, name: str | None = None, **fields: Any) -> list[dict]:
        """Events logged so far, optionally only those named ``name`` with these field values."""
        return [e for e in read_events(self.log) if matches(e, name, fields)]

    def wait_for(self, name: str, count: int = 1, timeout: float = DEFAULT_TIMEOUT, **fields: Any) -> dict:
        """The ``count``-th event named ``name`` with these fields; fails early if the process ends."""

        def found() -> dict | None:
            hits = self.events(name, **fields)
            if len(hits) >= count:
                return hits[count - 1]
            if not self.alive():
                raise AssertionError(f"process ended ({self.proc.returncode}) before {name} {fields}\n{self.tail()}")
            return None

        return wait_until(found, timeout, f"{name} x{count} {fields}", self.tail)

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        out = self.out.read_text(encoding="utf-8", errors="replace") if self.out.exists() else ""
        return (
            f"--- {self.log.name} (last {lines} lines) ---\n"
            + "\n".join(text.splitlines()[-lines:])
            + (f"\n--- stdout ---\n{out[-2000:]}" if out else "")
        )

    def stdout(self) -> str:
        return self.out.read_text(encoding="utf-8", errors="replace")

    # -- signals and exit ------------------------------------------------------------
    def signal(self, sig: signal.Signals) -> None:
        """Send ``sig`` to the ingest process itself (as ``kill`` or systemd would)."""
        assert self.alive(), f"process already ended ({self.proc and self.proc.returncode})\n{self.tail()}"
        os.kill(self.pid, sig)

    def wait_exit(self, timeout: float = DEFAULT_TIMEOUT) -> int:
        assert self.proc is not None, "not started"
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"process still running {timeout:.0f} s later\n{self.tail()}") from None

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then the exit status (failing if it takes longer than ``timeout``)."""
        self.signal(signal.SIGTERM)
        return self.wait_exit(timeout)

    def cleanup(self) -> None:
        """Kill the process group if anything of it is left; idempotent, never raises."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)


class Processes:
    """Starts ingest processes for one test and reaps every one of them at the end."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder = folder
        self.env = env
        self.started: list[IngestProcess] = []

    def start(
        self, *args: str | Path, env: dict[str, str] | None = None, name: str = "ingest", prefix: Sequence[str] = ()
    ) -> IngestProcess:
        """Start ``python -m ingest ARGS``; ``name`` names its log file (numbered on reuse)."""
        taken = sum(1 for p in self.started if p.log.name.startswith(f"{name}-"))
        proc = IngestProcess(list(args), {**self.env, **(env or {})}, self.folder, f"{name}-{taken + 1}", prefix)
        self.started.append(proc)
        return proc.start()

    def run(self, *args: str | Path, env: dict[str, str] | None = None, timeout: float = 120.0):
        """A short command (``status``, ``retry``, ``scan``) run to its end: the completed process."""
        cmd = [sys.executable, "-m", "ingest", *map(str, args)]
        return subprocess.run(
            cmd, capture_output=True, text=True, env={**self.env, **(env or {})}, timeout=timeout, check=False
        )

    def cleanup(self) -> None:
        for proc in self.started:
            proc.cleanup()


@contextlib.contextmanager
def small_processes(tmp_path: Path) -> Iterator[Processes]:
    """Ingest processes with the small fast model and JSON logs (in ``tmp_path/logs``); any
    still running at the end of the block are killed."""
    logs = tmp_path / "logs"
    logs.mkdir()
    env = {**os.environ, "INGEST_TRANSCRIBE__MODEL": "tiny.en", "INGEST_LOG_FORMAT": "json"}
    processes = Processes(logs, env)
    try:
        yield processes
    finally:
        processes.cleanup()
