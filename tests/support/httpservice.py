"""The HTTP service as ``ingest serve`` runs it, for the tests: a real daemon (ledger,
workers, the shipped tiny.en weights on the CPU) and real uvicorn on a free loopback port.

Everything started is stopped and joined when the block ends, pass or fail.
"""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest import plugins, settings
from ingest.daemon.service import LEDGER_NAME, Daemon
from ingest.server import runner


@dataclass(frozen=True)
class Running:
    """A service up on loopback: its base URL, its state folder, the daemon behind it."""

    url: str
    state_dir: Path
    daemon: Daemon

    def rows(self) -> list[sqlite3.Row]:
        """Every job in the ledger, read through a connection of our own."""
        db = sqlite3.connect(self.state_dir / LEDGER_NAME)
        db.row_factory = sqlite3.Row
        try:
            return db.execute("SELECT * FROM files ORDER BY rowid").fetchall()
        finally:
            db.close()

    def spool_files(self) -> list[Path]:
        spool = self.state_dir / "server" / "spool"
        return sorted(spool.iterdir()) if spool.is_dir() else []


def test_settings(state_dir: Path, **extra: Any) -> settings.Settings:
    """tiny.en on the CPU, one worker, a free loopback port, quick retries. A table in
    ``extra`` adds to the defaults' keys; a list (``watches=[{"path": ...}]``) is taken whole."""
    conf: dict[str, Any] = {
        "transcribe": {"model": "tiny.en", "device": "cpu"},
        "daemon": {"state_dir": str(state_dir), "workers": 1, "stop_timeout": 5},
        "server": {"listen": "127.0.0.1:0"},
    }
    for table, values in extra.items():
        conf[table] = {**conf.get(table, {}), **values} if isinstance(values, dict) else values
    return settings.load(**conf)


@contextmanager
def running(state_dir: Path, **extra: Any) -> Iterator[Running]:
    """The service over a fresh daemon in ``state_dir``, for the block."""
    conf = test_settings(state_dir, **extra)
    host = plugins.load(conf.disabled_plugins, conf.plugins)
    with host.serving(conf, command="serve"):
        daemon = Daemon(conf, host)
        daemon.start()
        try:
            with runner.serving(daemon.shared) as server:
                yield Running(server.url, state_dir, daemon)
        finally:
            daemon.stop()


def pcm_of(media: Path) -> bytes:
    """The audio of ``media`` exactly as Bazarr's Whisper provider makes it: raw s16le, mono, 16 kHz."""
    cmd = ["ffmpeg", "-nostdin", "-threads", "0", "-i", str(media), "-f", "s16le", "-acodec", "pcm_s16le"]
    cmd += ["-ac", "1", "-ar", "16000", "-af", "aresample=async=1", "-"]
    return subprocess.run(cmd, capture_output=True, check=True).stdout
