"""A hostile library (issue 15): ``status`` and ``retry`` pointed at a folder with no
ledger, a mistyped ``--state-dir``. They only read or requeue: they refuse, and leave
nothing behind. Real ``ingest`` processes, real folders."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def ingest(*args: str | Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "ingest", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ), timeout=120, check=False)


READ_ONLY = [("status",), ("retry", "--failed"), ("retry", "/srv/media/ep.mkv")]


@pytest.mark.parametrize("command", READ_ONLY)
def test_a_state_folder_that_is_not_there_is_refused_not_made(tmp_path, command):
    """It made the folder and an empty ledger, and reported zeros as if all were well."""
    typo = tmp_path / "TYPO"
    proc = ingest(*command, "--state-dir", typo)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"no ledger at {typo / 'ledger.sqlite3'}" in proc.stderr
    assert "daemon.state_dir" in proc.stderr and "--state-dir" in proc.stderr
    assert not typo.exists()


@pytest.mark.parametrize("command", READ_ONLY)
def test_a_folder_without_a_ledger_is_left_as_it_was(tmp_path, command):
    empty = tmp_path / "state"
    empty.mkdir()
    proc = ingest(*command, "--state-dir", empty)
    assert proc.returncode == 2, proc.stderr
    assert f"no ledger at {empty / 'ledger.sqlite3'}" in proc.stderr
    assert list(empty.iterdir()) == []


def test_scan_still_makes_the_ledger_status_then_reads(tmp_path):
    state, lib = tmp_path / "new" / "state", tmp_path / "lib"
    lib.mkdir()
    assert ingest("scan", "--dry-run", "--state-dir", state, lib).returncode == 0
    assert (state / "ledger.sqlite3").is_file()
    proc = ingest("status", "--state-dir", state)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("pending: 0")
