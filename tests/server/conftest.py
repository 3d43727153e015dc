"""What the service's tests share: a fresh service per test, and JFK as Bazarr sends it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.httpservice import Running, pcm_of, running


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Running]:
    """The service (real daemon, tiny.en, uvicorn on loopback) over a fresh state folder."""
    with running(tmp_path / "state") as up:
        yield up


@pytest.fixture(scope="module")
def jfk_pcm(shared_media: Path) -> bytes:
    """jfk.flac as Bazarr uploads it: raw s16le mono 16 kHz."""
    return pcm_of(shared_media / "jfk.flac")
