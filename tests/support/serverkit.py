"""Scaffolding for the media-server plugin tests (Jellyfin, Plex): jobs, hosts, logs.

Neither server can run here, so the tests point the plugins at ``http_recorder``, a
real loopback HTTP server scripted with the server's answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from structlog.testing import capture_logs

from ingest import pipeline, plugins, settings, testing
from ingest.models import Job, JobResult


def make_job(root: Path, show: str = "Show", status: str = "done", outputs: bool = True) -> tuple[Job, JobResult]:
    """A finished job whose media and subtitle really exist, in a TV-library layout under ``root/tv``."""
    folder = root / "tv" / show / "Season 01"
    folder.mkdir(parents=True, exist_ok=True)
    media = folder / f"{show} S01E02.mkv"
    media.write_bytes(b"\x1a\x45\xdf\xa3")
    subtitle = folder / f"{show} S01E02.en.srt"
    subtitle.write_text("1\n00:00:00,000 --> 00:00:01,000\nHello.\n", encoding="utf-8")
    return testing.make_job(media), JobResult(media, status, outputs=(subtitle,) if outputs else ())


@dataclass(frozen=True)
class Kit:
    """One media-server plugin, its secret's variable and a secret for the tests."""

    plugin: ModuleType
    env: str
    secret: str

    @property
    def name(self) -> str:
        return self.plugin.NAME

    def host(self, raw: dict, *modules: ModuleType) -> plugins.Host:
        """A fresh host with ``modules`` and the plugin, its settings validated."""
        return testing.fresh_host(*modules, self.plugin, config={self.name: raw})

    @contextmanager
    def serving(self, raw: dict, monkeypatch: pytest.MonkeyPatch, secret: bool = True) -> Iterator[plugins.Host]:
        """A host with the plugin started as the daemon starts it; shut down on leaving."""
        if secret:
            monkeypatch.setenv(self.env, self.secret)
        host = self.host(raw)
        with host.serving(settings.load(), "run"):
            yield host

    def finish(self, raw: dict, monkeypatch: pytest.MonkeyPatch, *jobs: tuple[Job, JobResult]) -> list[dict]:
        """Each job through ``pipeline.finish``, then shutdown (which waits for the deliveries)."""
        with capture_logs() as logs, self.serving(raw, monkeypatch) as host:
            for job, result in jobs:
                pipeline.finish(host, job, result)
        return logs

    def events(self, logs: list[dict]) -> list[dict]:
        """The plugin's outcome lines: refreshed or failed."""
        return [e for e in logs if e["event"] in (f"{self.name}_refreshed", f"{self.name}_refresh_failed")]


@contextmanager
def socket_closed() -> Iterator[str]:
    """The URL of a loopback port nothing listens on."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    yield f"http://127.0.0.1:{port}"
