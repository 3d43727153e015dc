"""A small tmpfs: a disk that can really fill up, for the tests of a full disk."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def mounted(folder: Path, size: str) -> Iterator[Path]:
    """``folder`` (made here) as a tmpfs of ``size`` (``4m``, ``64k``) until the block ends.
    The test fails, never skips, when it cannot mount: the suite runs as root here and in CI."""
    folder.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs at {folder} (this test needs root or CAP_SYS_ADMIN): {proc.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], capture_output=True, check=False)
        if os.path.ismount(folder):
            subprocess.run(["umount", "-l", str(folder)], capture_output=True, check=False)
