"""The apprise notifier, with real apprise delivering to a real loopback HTTP server.

No notification service can run here, so the test's recording server stands in for
one: apprise's own ``json://`` and ``form://`` services POST to it exactly as they
would to a home-automation or notification endpoint, and the tests read back what
arrived. Jobs are real: the pipeline runs the shipped tiny.en model on real speech.
"""

from __future__ import annotations

import logging
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from ingest_plugins import apprise_notify, faster_whisper, srt
from structlog.testing import capture_logs

from ingest import pipeline, settings
from ingest.errors import ConfigError
from ingest.models import Job, JobOptions, JobResult
from ingest.notify import notice, redact
from ingest.plugins import Host
from ingest.settings import options
from ingest.testing import fresh_host, make_job
from tests.support.logkit import debug_json_logs


def make_host(raw: dict | None = None, *modules) -> Host:
    """A fresh plugin host holding the notifier (and, for real jobs, an engine and a writer)."""
    return fresh_host(apprise_notify, *modules, config={"apprise": raw or {}})


def conf(urls: str, **kw) -> settings.Settings:
    return settings.load(apprise_urls=urls, transcribe={"model": "tiny.en"}, **kw)


def hostport(recorder) -> str:
    return recorder.url.removeprefix("http://")


def real_job(path: Path, config: settings.Settings, host: Host) -> JobResult:
    return pipeline.run(Job(path, options.job_options(config, path)), config, host)


def result(n: int, status: str = "done") -> tuple[Job, JobResult]:
    path = Path(f"/library/Show/Show S01E{n:02d}.mkv")
    outputs = (path.with_suffix(".en.srt"),) if status == "done" else ()
    error = f"{path}: not a readable media file" if status == "failed" else None
    finished = JobResult(path, status, outputs, error, "en", 1271.0, {"transcribe": 30.0})  # type: ignore[arg-type]
    return make_job(path), finished


def free_port() -> int:
    """A port nothing listens on: bound, then closed."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def json_logs():
    """ingest's real log set-up at debug level (stdlib loggers such as apprise's included), captured."""
    with debug_json_logs() as stream:
        yield stream


def test_done_message_from_a_real_job(http_recorder, speech_en_wav, tmp_path):
    media = Path(shutil.copy(speech_en_wav, tmp_path / "Interview.wav"))
    config = conf(f"json://{hostport(http_recorder)}/notify")
    host = make_host({}, faster_whisper, srt)
    with host.serving(config, command="process"):
        finished = real_job(media, config, host)
    assert finished.status == "done", finished.error
    (request,) = http_recorder.wait_for(1)
    message = request.json()
    assert request.path == "/notify" and message["type"] == "success"
    assert message["title"] == "Transcribed: Interview.wav"
    duration = notice.human(finished.duration)
    assert duration.startswith("0:0")
    assert message["message"].splitlines() == [
        f"Interview.wav ({duration}, en)",
        f"faster-whisper tiny.en in {notice.human(sum(finished.timings.values()))}",
        "Wrote Interview.en.srt",
    ]


def test_failure_message_carries_the_reason(http_recorder, text_mkv, tmp_path):
    media = Path(shutil.copy(text_mkv, tmp_path / "Movie (2001).mkv"))
    config = conf(f"form://{hostport(http_recorder)}/notify")
    host = make_host({"failed": {"title": "ingest failed: {name} ({engine} {model})"}})
    with host.serving(config, command="process"):
        finished = real_job(media, config, host)
    assert finished.status == "failed"
    (request,) = http_recorder.wait_for(1)
    form = request.form()
    assert form["title"] == ["ingest failed: Movie (2001).mkv (faster-whisper tiny.en)"]
    assert form["type"] == ["failure"]
    file_line, reason = form["message"][0].split("\n", 1)
    assert file_line == str(media)
    assert reason.startswith("not a readable media file"), reason


def test_daemon_start_and_stop(http_recorder, tmp_path):
    config = conf(f"json://{hostport(http_recorder)}/n", watches=[{"path": str(tmp_path)}])
    host = make_host()
    with host.serving(config, command="run"):
        (start,) = http_recorder.wait_for(1)
        pipeline.finish(host, *result(1))
        pipeline.finish(host, *result(2, "failed"))
    messages = [r.json() for r in http_recorder.wait_for(4)]
    assert start.json()["title"] == f"ingest started on {socket.gethostname()}"
    assert start.json()["message"] == "Watching 1 folder(s)."
    assert [m["title"] for m in messages[1:3]] == ["Transcribed: Show S01E01.mkv", "Failed: Show S01E02.mkv"]
    assert messages[3]["title"] == f"ingest stopped on {socket.gethostname()}"
    assert messages[3]["message"].startswith("1 done, 1 failed, 0 skipped in 0:0")


def test_a_scan_sends_digests_not_a_message_per_file(http_recorder):
    config = conf(f"json://{hostport(http_recorder)}/n")
    host = make_host({"digest_every": 10})
    with host.serving(config, command="scan"):
        for n in range(1, 26):
            pipeline.finish(host, *result(n, "failed" if n == 12 else "done"))
        http_recorder.wait_for(2)
    digests = [r.json() for r in http_recorder.wait_for(3)]
    assert len(http_recorder.requests) == 3  # the last five went out at shutdown; no start/stop for a scan
    assert [d["title"] for d in digests] == [
        "ingest: 10 files, 10 done, 0 failed",
        "ingest: 10 files, 9 done, 1 failed",
        "ingest: 5 files, 5 done, 0 failed",
    ]
    assert [d["type"] for d in digests] == ["success", "failure", "success"]
    lines = digests[1]["message"].splitlines()
    assert lines[0] == "✓ Show S01E11.mkv (21:11, en)"
    assert lines[1] == "✗ Show S01E12.mkv: not a readable media file"


def test_a_burst_in_the_daemon_turns_into_a_digest(http_recorder):
    config = conf(f"json://{hostport(http_recorder)}/n")
    host = make_host({"events": "done,failed", "digest_after": 3, "digest_every": 100})
    with host.serving(config, command="run"):
        for n in range(1, 9):
            pipeline.finish(host, *result(n))
        http_recorder.wait_for(3)
    titles = [r.json()["title"] for r in http_recorder.wait_for(4)]
    assert titles == [*(f"Transcribed: Show S01E0{n}.mkv" for n in (1, 2, 3)), "ingest: 5 files, 5 done, 0 failed"]


def test_a_pending_digest_goes_out_after_its_interval(http_recorder):
    config = conf(f"json://{hostport(http_recorder)}/n")
    host = make_host({"digest_interval": 0.3})
    with host.serving(config, command="scan"):
        pipeline.finish(host, *result(1))
        pipeline.finish(host, *result(2))
        (digest,) = http_recorder.wait_for(1, timeout=5)  # before shutdown: the timer sent it
        assert digest.json()["title"] == "ingest: 2 files, 2 done, 0 failed"
        pipeline.finish(host, *result(3))
    assert [r.json()["title"] for r in http_recorder.wait_for(2)][1] == "ingest: 1 files, 1 done, 0 failed"


def test_a_slow_service_never_holds_the_job(http_recorder):
    http_recorder.delay = 1.5
    host = make_host()
    with host.serving(conf(f"json://{hostport(http_recorder)}/n"), command="process"):
        began = time.monotonic()
        pipeline.finish(host, *result(1))
        assert time.monotonic() - began < 0.5
        assert threading.current_thread().name == "MainThread"
    assert len(http_recorder.wait_for(1)) == 1


def test_failed_delivery_is_logged_and_the_job_keeps_its_result(http_recorder, text_mkv, tmp_path):
    http_recorder.answer("/broken", (500, {"error": "boom"}))
    nobody = f"json://127.0.0.1:{free_port()}/nobody"
    config = conf(f"json://{hostport(http_recorder)}/broken {nobody}")
    host = make_host()
    media = Path(shutil.copy(text_mkv, tmp_path / "bad.mkv"))
    with capture_logs() as logs, host.serving(config, command="process"):
        finished = real_job(media, config, host)
        pipeline.finish(host, *result(1))
    assert finished.status == "failed" and "not a readable media file" in str(finished.error)
    failures = [e for e in logs if e["event"] == "notify_failed"]
    assert {e["url"] for e in failures} == {f"json://{hostport(http_recorder)}/broken", nobody}
    assert len(failures) == 4  # two messages, two services
    assert not [e for e in logs if e["event"] == "plugin_hook_failed"]
    assert len(http_recorder.requests) == 2


def test_secrets_in_urls_never_reach_the_logs(http_recorder, json_logs):
    http_recorder.answer("/n", (500, {}))
    urls = f"json://alice:Hunter2Secret@{hostport(http_recorder)}/n,form://bob:S3sameOpen@127.0.0.1:{free_port()}/x"
    host = make_host()
    with host.serving(conf(urls), command="run"):
        pipeline.finish(host, *result(1, "failed"))
    text = json_logs.getvalue()
    assert "notify_failed" in text and '"logger": "apprise"' in text  # apprise's own lines were captured
    assert "json://alice:****@" in text
    assert "Hunter2Secret" not in text and "S3sameOpen" not in text
    assert http_recorder.requests[0].headers["authorization"].startswith("Basic ")  # the secret was still used


def test_redactor_blanks_what_apprise_hides_in_its_privacy_form():
    """Discord's webhook token is in the URL path; apprise logs it at debug level when sending."""
    urls = settings.Settings(apprise_urls="discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js")
    found = apprise_notify.targets(urls.apprise_urls)
    hidden = apprise_notify.secrets(urls.apprise_urls, found)
    assert "JHMHI8qBe7bk2ZwO5U711o3dV_js" in hidden and "discord" not in hidden
    redactor = redact.Redactor(hidden).attach("apprise")
    try:
        with capture_stdlib("apprise") as records:
            logging.getLogger("apprise").warning(
                "POST URL: %s", "https://discord.com/api/webhooks/4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js"
            )
    finally:
        redactor.detach()
    assert records == ["POST URL: https://discord.com/api/webhooks/****/****"]


def test_redactor_blanks_the_decoded_form_of_secrets_given_once():
    """A secret arrives URL-encoded ("p%40ss") but may be logged decoded; the secrets may come
    as a generator (the webhook passes one), read once."""
    redactor = redact.Redactor(s for s in ["p%40ssw0rd"])
    assert redactor.redact("user p@ssw0rd and p%40ssw0rd") == f"user {redact.MASK} and {redact.MASK}"


class capture_stdlib:
    """Messages a stdlib logger emits, after its filters ran."""

    def __init__(self, name: str) -> None:
        self.logger, self.records = logging.getLogger(name), []
        self.handler = logging.Handler()
        self.handler.emit = lambda record: self.records.append(record.getMessage())  # type: ignore[method-assign]

    def __enter__(self) -> list[str]:
        self.logger.addHandler(self.handler)
        return self.records

    def __exit__(self, *exc: object) -> None:
        self.logger.removeHandler(self.handler)


@pytest.mark.parametrize("separator", [",", " ", " , ", "\n"])
def test_urls_separated_by_commas_or_spaces(http_recorder, separator):
    where = hostport(http_recorder)
    urls = separator.join([f"json://{where}/a", f"form://{where}/b", f"json://{where}/c"])
    host = make_host({"events": ["done"]})
    with host.serving(conf(urls), command="process"):
        pipeline.finish(host, *result(1))
    assert sorted(r.path for r in http_recorder.wait_for(3)) == ["/a", "/b", "/c"]


def test_a_url_apprise_rejects_stops_startup_without_showing_it():
    host = make_host()
    with pytest.raises(ConfigError) as excinfo, host.serving(conf("json://127.0.0.1/ok nosuch://me:PaSsWoRd9@x")):
        pass
    assert "URL 2 (nosuch://...)" in str(excinfo.value)
    assert "PaSsWoRd9" not in str(excinfo.value)


def test_without_urls_nothing_starts():
    before = threading.active_count()
    host = make_host()
    with host.serving(settings.load(), command="run"):
        assert apprise_notify._notifier is None
        assert threading.active_count() == before
        pipeline.finish(host, *result(1))


def test_templates_are_checked_at_startup():
    with pytest.raises(ConfigError) as excinfo:
        make_host({"done": {"title": "Done: {nmae}"}})
    assert "plugins.apprise.done" in str(excinfo.value) and "unknown field {nmae}" in str(excinfo.value)
    with pytest.raises(ConfigError, match="digest template"):
        make_host({"digest": {"body": "{files"}})
    with pytest.raises(ConfigError, match="events"):
        make_host({"events": "done,finished"})


def test_settings_from_the_environment(monkeypatch, http_recorder):
    monkeypatch.setenv("INGEST_APPRISE_URLS", f"json://{hostport(http_recorder)}/env")
    monkeypatch.setenv("INGEST_PLUGINS__APPRISE__EVENTS", "failed")
    monkeypatch.setenv("INGEST_PLUGINS__APPRISE__FAILED__BODY", "{name}: {reason} after {took}")
    config = settings.load()
    host = make_host(config.plugins["apprise"])
    with host.serving(config, command="process"):
        pipeline.finish(host, *result(1))
        pipeline.finish(host, *result(2, "failed"))
    (request,) = http_recorder.wait_for(1)
    assert request.json()["message"] == "Show S01E02.mkv: not a readable media file after 0:30"


def test_failures_the_daemon_will_retry_are_not_told_only_the_last(http_recorder, tmp_path, shared_media):
    """The hook fires on every attempt; people hear of a failure once, when no retry is left.
    A file that cannot be media is final at once: retrying it cannot help, so it is told then."""
    media = Path(shutil.copy(shared_media / "jfk.flac", tmp_path / "Show S01E01.flac"))
    corrupt = tmp_path / "Show S01E03.mkv"
    corrupt.write_bytes(b"not a matroska file at all")
    host = make_host({"events": ["done", "failed"]})
    outcomes = []
    no_engine = JobOptions(engine="none-loaded")  # fails after decoding: worth another attempt
    with host.serving(conf(f"json://{hostport(http_recorder)}/n"), command="run"):
        for last in (False, False, True):  # what the worker sets from the ledger's attempt count
            outcomes.append(pipeline.run(Job(media, no_engine, last_attempt=last), settings.Settings(), host))
        pipeline.finish(host, *result(2, "done"))
        outcomes.append(pipeline.run(Job(corrupt, JobOptions(), last_attempt=False), settings.Settings(), host))
    assert [(r.status, r.final) for r in outcomes] == [
        ("failed", False), ("failed", False), ("failed", True), ("failed", True)
    ]  # fmt: skip
    titles = [r.json()["title"] for r in http_recorder.wait_for(3)]
    assert titles == ["Failed: Show S01E01.flac", "Transcribed: Show S01E02.mkv", "Failed: Show S01E03.mkv"]
