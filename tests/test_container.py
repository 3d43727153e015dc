"""The container image builds from the Dockerfile and works: doctor, a real clip through
``ingest process``, and the image's own command (the daemon on /media, ``ingest health``).

Opt in with ``pytest -m container``: it needs root, podman and debootstrap, downloads
about 3 GB into the image and takes about 6 minutes the first time, so the README's test
command leaves it out. ``scripts/container-test.sh`` is the same check without pytest.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.container
def test_the_image_builds_and_transcribes_a_clip(shared_media, tmp_path):
    env = {**os.environ, "INGEST_CONTAINER_WORK": str(tmp_path), "INGEST_TEST_CLIP": str(shared_media / "jfk.flac")}
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts/container-test.sh")], capture_output=True, text=True, env=env, timeout=3600
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "doctor, process and the daemon passed" in proc.stdout
