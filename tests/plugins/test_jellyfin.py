"""The Jellyfin plugin speaking real HTTP to a loopback server.

Jellyfin cannot run here, so ``http_recorder`` stands in for it: a real HTTP server
that answers the endpoints the plugin uses as Jellyfin does (``204 No Content``) and
records what arrived, which the tests compare with Jellyfin's API.
"""

from __future__ import annotations

import shutil
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from ingest_plugins import faster_whisper, jellyfin, srt
from structlog.testing import capture_logs

from ingest import pipeline, plugins, settings
from ingest.errors import ConfigError
from ingest.models import Job, JobOptions, JobResult

KEY = "0123456789abcdef0123456789abcdef"
UPDATED = "/Library/Media/Updated"


def make_job(tmp_path: Path, status: str = "done", outputs: bool = True) -> tuple[Job, JobResult]:
    """A finished job whose media and subtitle really exist, in a TV-library layout."""
    folder = tmp_path / "tv" / "Show" / "Season 01"
    folder.mkdir(parents=True, exist_ok=True)
    media = folder / "Show S01E02.mkv"
    media.write_bytes(b"\x1a\x45\xdf\xa3")
    subtitle = folder / "Show S01E02.en.srt"
    subtitle.write_text("1\n00:00:00,000 --> 00:00:01,000\nHello.\n", encoding="utf-8")
    return Job(media, JobOptions()), JobResult(media, status, outputs=(subtitle,) if outputs else ())


def host_for(raw: dict, *modules) -> plugins.Host:
    host = plugins.Host()
    for module in (*modules, jellyfin):
        host.register(module, module.__name__.rsplit(".", 1)[1])
    plugins.validate_settings(host, {"jellyfin": raw})
    return host


@contextmanager
def serving(raw: dict, key: str | None = KEY, monkeypatch=None):
    """A host with the plugin started as the daemon starts it; shut down on leaving."""
    if key is not None:
        monkeypatch.setenv("INGEST_JELLYFIN_API_KEY", key)
    host = host_for(raw)
    with host.serving(settings.load(), "run"):
        yield host


def finish(raw: dict, monkeypatch, *jobs: tuple[Job, JobResult]) -> list[dict]:
    """Each job through ``pipeline.finish``, then shutdown (which waits for the deliveries)."""
    with capture_logs() as logs, serving(raw, monkeypatch=monkeypatch) as host:
        for job, result in jobs:
            pipeline.finish(host, job, result)
    return logs


def events(logs: list[dict], prefix: str = "jellyfin_") -> list[dict]:
    return [e for e in logs if e["event"].startswith(prefix) and e["event"] != "jellyfin_ready"]


def test_reports_the_media_as_modified_with_the_key_in_the_authorization_header(http_recorder, tmp_path, monkeypatch):
    http_recorder.answer(UPDATED, (204, b""))
    job, result = make_job(tmp_path)
    logs = finish({"url": http_recorder.url}, monkeypatch, (job, result))
    (request,) = http_recorder.requests
    assert (request.method, request.path, request.query) == ("POST", UPDATED, {})
    assert request.json() == {"Updates": [{"Path": str(job.path), "UpdateType": "Modified"}]}
    assert request.headers["content-type"] == "application/json"
    assert request.headers["authorization"] == f'MediaBrowser Token="{KEY}"'
    (done,) = events(logs)
    assert (done["event"], done["path"], done["status"]) == ("jellyfin_refreshed", str(job.path), 204)
    assert done["seconds"] >= 0
    assert KEY not in repr(logs)


def test_path_map_translates_to_the_servers_paths(http_recorder, tmp_path, monkeypatch):
    job, result = make_job(tmp_path)
    finish(
        {"url": http_recorder.url, "path_map": [f"{tmp_path}/tv=/data/tvshows", "/elsewhere=/x"]},
        monkeypatch,
        (job, result),
    )
    finish({"url": http_recorder.url, "path_map": {str(tmp_path): "\\\\nas\\media"}}, monkeypatch, (job, result))
    finish({"url": http_recorder.url, "path_map": f"{tmp_path}/t=/nope"}, monkeypatch, (job, result))
    paths = [r.json()["Updates"][0]["Path"] for r in http_recorder.requests]
    assert paths == [
        "/data/tvshows/Show/Season 01/Show S01E02.mkv",
        "\\\\nas\\media\\tv\\Show\\Season 01\\Show S01E02.mkv",
        str(job.path),  # "/t" is not a whole-component prefix of "/tv": sent as it is
    ]


def test_a_503_is_retried_and_the_retry_succeeds(http_recorder, tmp_path, monkeypatch):
    http_recorder.answer(UPDATED, (503, {"error": "starting"}), (204, b""))
    logs = finish({"url": http_recorder.url, "retries": 2}, monkeypatch, make_job(tmp_path))
    assert [r.path for r in http_recorder.requests] == [UPDATED, UPDATED]
    assert [(e["event"], e["status"]) for e in events(logs)] == [("jellyfin_refreshed", 204)]


def test_a_silent_server_times_out_without_holding_the_job(http_recorder, tmp_path, monkeypatch):
    http_recorder.delay = 2.0
    job, result = make_job(tmp_path)
    with (
        capture_logs() as logs,
        serving({"url": http_recorder.url, "timeout": 0.3, "retries": 1}, monkeypatch=monkeypatch) as host,
    ):
        start = time.monotonic()
        pipeline.finish(host, job, result)
        assert time.monotonic() - start < 0.2  # the worker is free at once; the courier waits
        closing = time.monotonic()
    assert time.monotonic() - closing < 1.5  # two attempts of 0.3 s, not the server's 2 s each
    assert len(http_recorder.requests) == 2
    (failed,) = events(logs)
    assert (failed["event"], failed["error"]) == ("jellyfin_refresh_failed", "no answer within 0.3 s")
    assert not [e for e in logs if e["event"] == "plugin_hook_failed"]


def test_a_refused_key_is_logged_with_the_variable_to_check(http_recorder, tmp_path, monkeypatch):
    http_recorder.answer(UPDATED, (401, b"Unauthorized"))
    logs = finish({"url": http_recorder.url}, monkeypatch, make_job(tmp_path))
    assert len(http_recorder.requests) == 1  # a 401 is not retried
    (failed,) = events(logs)
    assert (failed["event"], failed["status"]) == ("jellyfin_refresh_failed", 401)
    assert "INGEST_JELLYFIN_API_KEY" in failed["hint"]
    assert KEY not in repr(logs)


def test_a_server_that_is_down_is_a_warning(tmp_path, monkeypatch):
    with socket_closed() as url:
        logs = finish({"url": url, "retries": 0}, monkeypatch, make_job(tmp_path))
    (failed,) = events(logs)
    assert failed["event"] == "jellyfin_refresh_failed"
    assert failed["error"].startswith("cannot connect:")


def test_library_mode_asks_for_a_scan_of_every_library(http_recorder, tmp_path, monkeypatch):
    finish({"url": http_recorder.url + "/jellyfin/", "refresh": "library"}, monkeypatch, make_job(tmp_path))
    (request,) = http_recorder.requests
    assert (request.method, request.path, request.body) == ("POST", "/jellyfin/Library/Refresh", b"")


@pytest.mark.parametrize(("status", "outputs"), [("failed", False), ("skipped", False), ("done", False)])
def test_only_jobs_that_wrote_subtitles_are_reported(http_recorder, tmp_path, monkeypatch, status, outputs):
    logs = finish({"url": http_recorder.url}, monkeypatch, make_job(tmp_path, status, outputs))
    assert http_recorder.requests == []
    assert events(logs) == []


def test_without_url_nothing_is_sent_and_no_thread_starts(http_recorder, tmp_path, monkeypatch):
    with serving({}, key=None) as host:
        assert not [t for t in threading.enumerate() if t.name == "ingest-jellyfin"]
        pipeline.finish(host, *make_job(tmp_path))
    assert http_recorder.requests == []


def test_another_plugins_failed_startup_leaves_no_thread_behind(http_recorder, monkeypatch):
    """Startup hooks run in turn and no shutdown follows a failed one: nothing may be left running."""

    class Strict:
        @plugins.hookimpl
        def ingest_startup(self) -> None:
            raise ConfigError("plugins.strict: broken")

    monkeypatch.setenv("INGEST_JELLYFIN_API_KEY", KEY)
    host = plugins.Host()
    host.register(Strict(), "strict")  # registered first, so called after jellyfin (pluggy calls LIFO)
    host.register(jellyfin, "jellyfin")
    plugins.validate_settings(host, {"jellyfin": {"url": http_recorder.url}})
    with pytest.raises(ConfigError, match="strict"), host.serving(settings.load(), "run"):
        pass
    assert jellyfin._server is not None  # jellyfin did start
    assert not [t for t in threading.enumerate() if t.name == "ingest-jellyfin"]
    jellyfin.ingest_shutdown()


def test_a_url_without_the_key_stops_startup_naming_the_variable(http_recorder):
    host = host_for({"url": http_recorder.url})
    with pytest.raises(ConfigError, match="INGEST_JELLYFIN_API_KEY"), host.serving(settings.load(), "run"):
        pass


def test_a_key_in_the_config_file_is_refused_without_echoing_it(http_recorder):
    host = host_for({"url": http_recorder.url, "api_key": KEY})
    with pytest.raises(ConfigError, match="INGEST_JELLYFIN_API_KEY") as caught, host.serving(settings.load(), "run"):
        pass
    assert KEY not in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"url": "jellyfin.lan:8096"}, "url"),
        ({"path_map": ["relative=/data"]}, "path_map"),
        ({"path_map": ["/no-equals-sign"]}, "path_map"),
        ({"timeout": 0}, "timeout"),
        ({"refresh": "everything"}, "refresh"),
    ],
)
def test_bad_settings_stop_the_program_naming_the_key(raw, key):
    with pytest.raises(ConfigError, match=rf"plugins\.jellyfin\.{key}"):
        host_for(raw)


def test_a_real_job_refreshes_its_media(shared_media, tmp_path, http_recorder, monkeypatch):
    """The whole pipeline (ffmpeg, faster-whisper tiny.en, the SRT writer), then the refresh."""
    media = Path(shutil.copy(shared_media / "jfk.flac", tmp_path / "jfk.flac"))
    monkeypatch.setenv("INGEST_JELLYFIN_API_KEY", KEY)
    conf = settings.load(transcribe={"model": "tiny.en"}, plugins={"jellyfin": {"url": http_recorder.url}})
    host = host_for(conf.plugins["jellyfin"], faster_whisper, srt)
    with capture_logs() as logs, host.serving(conf, "process"):
        result = pipeline.run(Job(media, settings.job_options(conf, media)), conf, host)
    assert result.status == "done", result.error
    assert [p.name for p in result.outputs] == ["jfk.en.srt"]
    (request,) = http_recorder.requests
    assert request.json() == {"Updates": [{"Path": str(media), "UpdateType": "Modified"}]}
    assert [e["event"] for e in events(logs)] == ["jellyfin_refreshed"]


@contextmanager
def socket_closed():
    """The URL of a loopback port nothing listens on."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    yield f"http://127.0.0.1:{port}"
