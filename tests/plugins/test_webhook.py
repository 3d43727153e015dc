"""The webhook plugin, POSTing real HTTP to a real loopback server.

The test's recording server stands in for the receiver (Home Assistant, n8n, a
script): it reads back the JSON that arrived and scripts its answers (503 then 200
for a retry). Jobs are real: the pipeline runs the shipped tiny.en model on speech.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest
from ingest_plugins import faster_whisper, srt, webhook
from structlog.testing import capture_logs

from ingest import pipeline, settings
from ingest.errors import ConfigError
from ingest.models import Job, JobResult
from ingest.plugins import Host
from ingest.settings import options
from ingest.testing import fresh_host, make_job
from tests.support.logkit import debug_json_logs


def make_host(raw: dict, *modules) -> Host:
    """A fresh plugin host holding the webhook plugin (and, for real jobs, an engine and a writer)."""
    return fresh_host(webhook, *modules, config={"webhook": raw})


def conf() -> settings.Settings:
    return settings.load(transcribe={"model": "tiny.en"})


def result(status: str = "done") -> tuple[Job, JobResult]:
    path = Path("/podcasts/inbox/ep42.mp3")
    error = "the file was skipped" if status == "skipped" else None
    return make_job(path), JobResult(path, status, error=error)  # type: ignore[arg-type]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_json_summary_of_a_real_job(http_recorder, speech_en_wav, tmp_path):
    media = Path(shutil.copy(speech_en_wav, tmp_path / "ep1.wav"))
    config = conf()
    host = make_host({"urls": [http_recorder.url + "/hook"]}, faster_whisper, srt)
    with host.serving(config, command="process"):
        finished = pipeline.run(Job(media, options.job_options(config, media)), config, host)
    assert finished.status == "done", finished.error
    (request,) = http_recorder.wait_for(1)
    assert request.method == "POST" and request.path == "/hook"
    assert request.headers["content-type"] == "application/json"
    body = request.json()
    assert set(body) == {
        *("event", "status", "file", "name", "folder", "language", "duration", "engine", "model"),
        *("outputs", "error", "seconds", "timings", "final", "host", "finished"),
    }
    assert body["final"] is True
    assert (body["event"], body["status"], body["error"]) == ("done", "done", None)
    assert (body["file"], body["name"], body["folder"]) == (str(media), "ep1.wav", str(tmp_path))
    assert (body["language"], body["engine"], body["model"]) == ("en", "faster-whisper", "tiny.en")
    assert body["duration"] == pytest.approx(finished.duration, abs=0.01) and 2 < body["duration"] < 10
    assert body["outputs"] == [str(tmp_path / "ep1.en.srt")]
    assert {"probe", "extract", "transcribe", "write"} <= set(body["timings"])
    assert body["seconds"] == pytest.approx(sum(body["timings"].values()), abs=0.01)
    assert body["host"] == socket.gethostname()


def test_a_failed_real_job_is_posted_with_its_reason(http_recorder, text_mkv, tmp_path):
    media = Path(shutil.copy(text_mkv, tmp_path / "broken.mkv"))
    config = conf()
    host = make_host({"urls": http_recorder.url + "/hook"})
    with host.serving(config, command="process"):
        finished = pipeline.run(Job(media, options.job_options(config, media)), config, host)
    body = http_recorder.wait_for(1)[0].json()
    assert (body["event"], body["model"], body["outputs"]) == ("failed", "tiny.en", [])
    assert body["error"] == finished.error and "not a readable media file" in body["error"]


def test_retries_a_503_then_succeeds(http_recorder):
    http_recorder.answer("/hook", (503, {}), (503, {}), (200, {"ok": True}))
    host = make_host({"urls": [http_recorder.url + "/hook?token=abc"], "backoff": 0})
    with capture_logs() as logs, host.serving(conf(), command="run"):
        pipeline.finish(host, *result())
    bodies = [r.json() for r in http_recorder.wait_for(3)]
    assert len(bodies) == 3 and bodies[0] == bodies[2]
    assert http_recorder.requests[0].query == {"token": ["abc"]}
    sent = [e for e in logs if e["event"] in ("webhook_sent", "webhook_failed")]
    assert [(e["event"], e["status"], e["url"]) for e in sent] == [("webhook_sent", 200, http_recorder.url + "/hook")]


def test_gives_up_after_its_retries_and_logs_the_status(http_recorder):
    http_recorder.answer("/hook", (500, {}))
    host = make_host({"urls": [http_recorder.url + "/hook"], "retries": 1, "backoff": 0})
    with capture_logs() as logs, host.serving(conf()):
        pipeline.finish(host, *result("failed"))
    assert len(http_recorder.requests) == 2
    (failed,) = [e for e in logs if e["event"] == "webhook_failed"]
    assert (failed["status"], failed["log_level"]) == (500, "warning")


def test_a_slow_receiver_times_out_and_is_logged(http_recorder):
    http_recorder.delay = 1.5
    host = make_host({"urls": [http_recorder.url + "/slow"], "timeout": 0.3, "retries": 0})
    with capture_logs() as logs, host.serving(conf()):
        pipeline.finish(host, *result())
    (failed,) = [e for e in logs if e["event"] == "webhook_failed"]
    assert "ReadTimeout" in failed["error"]


@pytest.fixture
def json_logs():
    """ingest's real log set-up at debug level (urllib3's own lines included), captured."""
    with debug_json_logs() as stream:
        yield stream


def test_tokens_in_urls_never_reach_the_logs(http_recorder, json_logs):
    http_recorder.answer("/hook", (503, {}), (200, {}))
    dead = f"http://user:Pa55word@127.0.0.1:{free_port()}/gone?api_key=K3yK3yK3y"
    alive = http_recorder.url + "/hook?token=T0kenT0ken"
    host = make_host({"urls": [dead, alive], "retries": 1, "backoff": 0})
    with host.serving(conf()):
        pipeline.finish(host, *result())
    text = json_logs.getvalue()
    assert '"logger": "urllib3.connectionpool"' in text  # urllib3's retry lines were there to leak
    assert "webhook_failed" in text and "webhook_sent" in text
    for secret in ("Pa55word", "K3yK3yK3y", "T0kenT0ken"):
        assert secret not in text
    assert http_recorder.requests[-1].query == {"token": ["T0kenT0ken"]}


def test_events_choose_what_is_posted(http_recorder):
    host = make_host({"urls": [http_recorder.url + "/a"], "events": "skipped"})
    with host.serving(conf()):
        pipeline.finish(host, *result("done"))
        pipeline.finish(host, *result("skipped"))
    (request,) = http_recorder.wait_for(1)
    assert request.json()["event"] == "skipped" and request.json()["error"] == "the file was skipped"
    assert len(http_recorder.requests) == 1


def test_urls_from_the_environment_split_on_commas_and_spaces(monkeypatch, http_recorder):
    monkeypatch.setenv(
        "INGEST_PLUGINS__WEBHOOK__URLS", f"{http_recorder.url}/a, {http_recorder.url}/b {http_recorder.url}/c"
    )
    config = settings.load()
    host = make_host(config.plugins["webhook"])
    with host.serving(config):
        pipeline.finish(host, *result())
    assert sorted(r.path for r in http_recorder.wait_for(3)) == ["/a", "/b", "/c"]


def test_a_bad_url_stops_startup_without_its_secret():
    host = make_host({"urls": ["ftp://host/drop?key=S3cr3tKey"]})
    with pytest.raises(ConfigError) as excinfo, host.serving(conf()):
        pass
    assert "'ftp://host/drop'" in str(excinfo.value) and "S3cr3tKey" not in str(excinfo.value)


def test_without_urls_nothing_is_sent_or_started(http_recorder):
    host = make_host({})
    with host.serving(conf()):
        assert webhook._sender is None
        pipeline.finish(host, *result())
    assert http_recorder.requests == []
