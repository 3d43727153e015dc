"""``ingest serve`` and ``ingest run`` with ``[server] enabled``: real processes, a real port,
real signals. Requests and watched files end up in the one ledger of the one daemon."""

from __future__ import annotations

import shutil
import signal
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.daemonproc import Processes, small_processes, wait_until

pytestmark = pytest.mark.slow  # real `ingest` processes


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Processes]:
    with small_processes(tmp_path) as processes:
        yield processes


def states(state: Path) -> list[str]:
    db = sqlite3.connect(state / "ledger.sqlite3")
    try:
        return [row[0] for row in db.execute("SELECT state FROM files ORDER BY rowid")]
    finally:
        db.close()


def test_ingest_serve_answers_status_and_transcribes_then_stops_on_sigterm(
    procs: Processes, tmp_path: Path, shared_media: Path
):
    port, state = free_port(), tmp_path / "state"
    proc = procs.start("serve", "--listen", f"127.0.0.1:{port}", "--state-dir", state)
    proc.wait_for("server_listening", timeout=120)
    url = f"http://127.0.0.1:{port}"
    assert requests.get(f"{url}/status", timeout=5).json()["version"]
    files = {"audio_file": ("jfk.flac", (shared_media / "jfk.flac").read_bytes())}
    answer = requests.post(f"{url}/asr", params={"output": "txt"}, files=files, timeout=120)
    assert answer.status_code == 200 and "your country" in answer.text.lower()
    proc.signal(signal.SIGTERM)
    assert proc.wait_exit() == 0
    assert states(state) == ["done"]


def test_ingest_run_serves_too_when_enabled_on_the_same_ledger(procs: Processes, tmp_path: Path, shared_media: Path):
    port, state, watched = free_port(), tmp_path / "state", tmp_path / "library"
    watched.mkdir()
    env = {"INGEST_SERVER__ENABLED": "true", "INGEST_SERVER__LISTEN": f"127.0.0.1:{port}"}
    proc = procs.start("run", "--watch", watched, "--settle-seconds", "0.3", "--state-dir", state, env=env)
    proc.wait_for("server_listening", timeout=120)
    proc.wait_for("daemon_ready", timeout=60)
    shutil.copy(shared_media / "jfk.flac", watched / "jfk.flac")
    files = {"audio_file": ("audio_file", (shared_media / "jfk.flac").read_bytes())}
    answer = requests.post(f"http://127.0.0.1:{port}/asr", params={"output": "srt"}, files=files, timeout=120)
    assert answer.status_code == 200 and answer.text.startswith("1\n")
    wait_until(lambda: states(state) == ["done", "done"], 60, "the watched file and the request both done")
    assert (watched / "jfk.en.srt").is_file()  # the watched file's subtitle beside it, the request's not
    proc.signal(signal.SIGTERM)
    assert proc.wait_exit() == 0
