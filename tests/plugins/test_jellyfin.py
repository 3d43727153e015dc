"""The Jellyfin plugin speaking real HTTP to a loopback server.

Jellyfin cannot run here, so ``http_recorder`` stands in for it: a real HTTP server
that answers the endpoints the plugin uses as Jellyfin does (``204 No Content``) and
records what arrived, which the tests compare with Jellyfin's API.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from ingest_plugins import faster_whisper, jellyfin, srt
from structlog.testing import capture_logs

from ingest import pipeline, settings
from ingest.errors import ConfigError
from ingest.models import Job
from ingest.settings import options
from tests.support.serverkit import Kit, make_job, socket_closed

KEY = "0123456789abcdef0123456789abcdef"
UPDATED = "/Library/Media/Updated"
KIT = Kit(jellyfin, "INGEST_JELLYFIN_API_KEY", KEY)
finish, events = KIT.finish, KIT.events


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


def test_a_refused_key_is_logged_with_the_variable_to_check(http_recorder, tmp_path, monkeypatch):
    http_recorder.answer(UPDATED, (401, b"Unauthorized"))
    logs = finish({"url": http_recorder.url}, monkeypatch, make_job(tmp_path))
    assert len(http_recorder.requests) == 1  # a 401 is not retried
    (failed,) = events(logs)
    assert (failed["event"], failed["status"]) == ("jellyfin_refresh_failed", 401)
    assert "INGEST_JELLYFIN_API_KEY" in failed["hint"]
    assert KEY not in repr(logs)


def test_library_mode_asks_for_a_scan_of_every_library(http_recorder, tmp_path, monkeypatch):
    finish({"url": http_recorder.url + "/jellyfin/", "refresh": "library"}, monkeypatch, make_job(tmp_path))
    (request,) = http_recorder.requests
    assert (request.method, request.path, request.body) == ("POST", "/jellyfin/Library/Refresh", b"")


def test_library_mode_asks_once_while_a_scan_waits_and_item_mode_once_per_file(http_recorder, tmp_path, monkeypatch):
    """A backfill in library mode: jobs finishing while a scan of every library waits to be
    sent ask for none of their own, so with five jobs finishing within one slow request, at
    most one scan is in flight and one waits; item mode reports each file. (The exact rule,
    without timing: tests/notify/test_mediaserver.py::test_send_once_joins_...)"""
    http_recorder.delay = 0.3  # a request in flight while the next jobs finish
    jobs = [make_job(tmp_path, name) for name in "ABCDE"]
    finish({"url": http_recorder.url, "refresh": "library"}, monkeypatch, *jobs)
    scans = [r.path for r in http_recorder.requests]
    assert scans in (["/Library/Refresh"], ["/Library/Refresh"] * 2)
    finish({"url": http_recorder.url}, monkeypatch, *jobs)
    paths = [r.json()["Updates"][0]["Path"] for r in http_recorder.requests[len(scans) :]]
    assert paths == [str(job.path) for job, _ in jobs]


def test_a_library_scan_running_past_the_timeout_is_started_not_sent_again(http_recorder, tmp_path, monkeypatch):
    """Jellyfin answers /Library/Refresh when the scan ends: a retry would queue a second scan."""
    http_recorder.delay = 1.0
    raw = {"url": http_recorder.url, "refresh": "library", "timeout": 0.3, "retries": 2}
    logs = finish(raw, monkeypatch, make_job(tmp_path))
    assert len(http_recorder.requests) == 1
    started = [e for e in logs if e["event"].startswith("jellyfin_refresh")]
    assert [e["event"] for e in started] == ["jellyfin_refresh_started"]


def test_library_scans_keep_their_interval_and_the_jobs_between_share_one(http_recorder, tmp_path, monkeypatch):
    """A scan, then every job finishing within ``library_interval`` joins one scan sent when
    the interval is over: a backfill asks for a scan every few minutes, not one per file."""
    raw = {"url": http_recorder.url, "refresh": "library", "library_interval": 0.5}
    with KIT.serving(raw, monkeypatch) as host:
        before = time.monotonic()  # A's scan is stamped after this
        pipeline.finish(host, *make_job(tmp_path, "A"))
        http_recorder.wait_for(1)  # A's scan went out (jobs finishing before that share it)
        for name in "BC":
            pipeline.finish(host, *make_job(tmp_path, name))
        http_recorder.wait_for(2)
        assert time.monotonic() - before >= 0.49
    assert len(http_recorder.requests) == 2


def test_shutdown_sends_a_scan_waiting_for_its_interval_at_once(http_recorder, tmp_path, monkeypatch):
    raw = {"url": http_recorder.url, "refresh": "library", "library_interval": 600}
    start = time.monotonic()
    with KIT.serving(raw, monkeypatch) as host:
        pipeline.finish(host, *make_job(tmp_path, "A"))
        http_recorder.wait_for(1)
        pipeline.finish(host, *make_job(tmp_path, "B"))  # waits for its interval
    assert len(http_recorder.requests) == 2 and time.monotonic() - start < 10  # not 600 s, not lost


def test_a_library_scan_is_still_retried_on_503_and_on_a_refused_connection(http_recorder, tmp_path, monkeypatch):
    """Only a request that reached the server is never sent again; these never started a scan."""
    http_recorder.answer("/Library/Refresh", (503, b""), (204, b""))
    logs = finish({"url": http_recorder.url, "refresh": "library", "retries": 1}, monkeypatch, make_job(tmp_path))
    assert len(http_recorder.requests) == 2
    assert [e["event"] for e in events(logs)] == ["jellyfin_refreshed"]
    with socket_closed() as url:
        logs = finish({"url": url, "refresh": "library", "retries": 1}, monkeypatch, make_job(tmp_path))
    (failed,) = events(logs)
    assert failed["error"].startswith("cannot connect:")


@pytest.mark.parametrize(("status", "outputs"), [("failed", False), ("skipped", False), ("done", False)])
def test_only_jobs_that_wrote_subtitles_are_reported(http_recorder, tmp_path, monkeypatch, status, outputs):
    logs = finish({"url": http_recorder.url}, monkeypatch, make_job(tmp_path, status=status, outputs=outputs))
    assert http_recorder.requests == []
    assert events(logs) == []


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"path_map": ["/no-equals-sign"]}, "path_map"),
        ({"refresh": "everything"}, "refresh"),
    ],
)
def test_bad_jellyfin_settings_stop_the_program_naming_the_key(raw, key):
    with pytest.raises(ConfigError, match=rf"plugins\.jellyfin\.{key}"):
        KIT.host(raw)


def test_a_real_job_refreshes_its_media(shared_media, tmp_path, http_recorder, monkeypatch):
    """The whole pipeline (ffmpeg, faster-whisper tiny.en, the SRT writer), then the refresh."""
    media = Path(shutil.copy(shared_media / "jfk.flac", tmp_path / "jfk.flac"))
    monkeypatch.setenv("INGEST_JELLYFIN_API_KEY", KEY)
    conf = settings.load(transcribe={"model": "tiny.en"}, plugins={"jellyfin": {"url": http_recorder.url}})
    host = KIT.host(conf.plugins["jellyfin"], faster_whisper, srt)
    with capture_logs() as logs, host.serving(conf, "process"):
        result = pipeline.run(Job(media, options.job_options(conf, media)), conf, host)
    assert result.status == "done", result.error
    assert [p.name for p in result.outputs] == ["jfk.en.srt"]
    (request,) = http_recorder.requests
    assert request.json() == {"Updates": [{"Path": str(media), "UpdateType": "Modified"}]}
    assert [e["event"] for e in events(logs)] == ["jellyfin_refreshed"]
