"""``ingest.notify.mediaserver`` through both plugins that use it: startup's checks, the thread, failures.

Jellyfin and Plex cannot run here, so ``http_recorder`` stands in for them: a real
loopback HTTP server that answers (or keeps silent) as the test scripts it. Each case
runs once per plugin, since each wires its own secret and endpoint into the shared code.
"""

from __future__ import annotations

import threading
import time

import pytest
import requests
import urllib3
from ingest_plugins import jellyfin, plex
from structlog.testing import capture_logs

from ingest import pipeline, plugins, settings
from ingest.errors import ConfigError
from ingest.notify import delivery, mediaserver
from tests.support.serverkit import Kit, make_job, socket_closed

JELLYFIN = Kit(jellyfin, "INGEST_JELLYFIN_API_KEY", "0123456789abcdef0123456789abcdef")
PLEX = Kit(plex, "INGEST_PLEX_TOKEN", "pLeXt0kEn-abc123")
# Settings that make each plugin send one request per job, and that request's path.
ONE_REQUEST = {"jellyfin": ({}, "/Library/Media/Updated"), "plex": ({"section": 2}, "/library/sections/2/refresh")}
both = pytest.mark.parametrize("kit", [JELLYFIN, PLEX], ids=lambda kit: kit.name)


@both
def test_a_503_is_retried_and_the_retry_succeeds(kit, http_recorder, tmp_path, monkeypatch):
    extra, path = ONE_REQUEST[kit.name]
    http_recorder.answer(path, (503, b""), (204, b""))
    logs = kit.finish({"url": http_recorder.url, "retries": 1, **extra}, monkeypatch, make_job(tmp_path))
    assert [r.path for r in http_recorder.requests] == [path, path]
    assert [(e["event"], e["status"]) for e in kit.events(logs)] == [(f"{kit.name}_refreshed", 204)]


@both
def test_a_silent_server_times_out_without_holding_the_job(kit, http_recorder, tmp_path, monkeypatch):
    http_recorder.delay = 2.0
    extra, _ = ONE_REQUEST[kit.name]
    raw = {"url": http_recorder.url, "timeout": 0.3, "retries": 1, **extra}
    with capture_logs() as logs, kit.serving(raw, monkeypatch) as host:
        start = time.monotonic()
        pipeline.finish(host, *make_job(tmp_path))
        assert time.monotonic() - start < 0.2  # the worker is free at once; the courier waits
        closing = time.monotonic()
    assert time.monotonic() - closing < 1.5  # two attempts of 0.3 s, not the server's 2 s each
    assert len(http_recorder.requests) == 2
    (failed,) = kit.events(logs)
    assert (failed["event"], failed["error"]) == (f"{kit.name}_refresh_failed", "no answer within 0.3 s")
    assert failed["seconds"] >= 0.6
    assert not [e for e in logs if e["event"] == "plugin_hook_failed"]


@both
def test_a_server_that_is_down_is_a_warning(kit, tmp_path, monkeypatch):
    with socket_closed() as url:
        logs = kit.finish({"url": url, "retries": 0, **ONE_REQUEST[kit.name][0]}, monkeypatch, make_job(tmp_path))
    (failed,) = kit.events(logs)
    assert failed["event"] == f"{kit.name}_refresh_failed"
    assert failed["error"].startswith("cannot connect:")


@both
def test_without_url_nothing_is_sent_and_no_thread_starts(kit, http_recorder, tmp_path, monkeypatch):
    with kit.serving({}, monkeypatch, secret=False) as host:
        assert not [t for t in threading.enumerate() if t.name == f"ingest-{kit.name}"]
        pipeline.finish(host, *make_job(tmp_path))
    assert http_recorder.requests == []


@both
def test_another_plugins_failed_startup_still_stops_the_thread(kit, http_recorder, monkeypatch):
    """A plugin refusing to start makes the host shut down the ones already started."""

    class Strict:
        @plugins.hookimpl
        def ingest_startup(self) -> None:
            raise ConfigError("plugins.strict: broken")

    monkeypatch.setenv(kit.env, kit.secret)
    host = plugins.Host()
    host.register(Strict(), "strict")  # registered first, so called after the plugin (pluggy calls LIFO)
    host.register(kit.plugin, kit.name)
    plugins.validate_settings(host, {kit.name: {"url": http_recorder.url}})
    with capture_logs() as logs, pytest.raises(ConfigError, match="strict"), host.serving(settings.load(), "run"):
        pass
    assert f"{kit.name}_ready" in [e["event"] for e in logs]  # it did start
    assert kit.plugin._server is None
    assert not [t for t in threading.enumerate() if t.name == f"ingest-{kit.name}"]


@both
def test_a_url_without_the_secret_stops_startup_naming_the_variable(kit, http_recorder):
    host = kit.host({"url": http_recorder.url})
    missing = rf"plugins\.{kit.name}\.url is set but {kit.env}"
    with pytest.raises(ConfigError, match=missing), host.serving(settings.load(), "run"):
        pass


@both
def test_a_secret_in_the_config_file_is_refused_without_echoing_it(kit, http_recorder):
    key = kit.plugin.SECRET.key
    host = kit.host({"url": http_recorder.url, key: kit.secret})
    refused = rf"plugins\.{kit.name}\.{key}: .*{kit.env}"
    with pytest.raises(ConfigError, match=refused) as caught, host.serving(settings.load(), "run"):
        pass
    assert kit.secret not in str(caught.value)


@both
@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"url": "server.lan:8096"}, "url"),
        ({"path_map": ["relative=/data"]}, "path_map"),
        ({"path_map": {"/data": ""}}, "path_map"),
        ({"timeout": 0}, "timeout"),
        ({"retries": -1}, "retries"),
        ({"tokn": "x"}, "tokn"),
    ],
)
def test_bad_settings_stop_the_program_naming_the_key(kit, raw, key):
    with pytest.raises(ConfigError, match=rf"plugins\.{kit.name}\.{key}"):
        kit.host(raw)


POOL = urllib3.HTTPConnectionPool("127.0.0.1")


def wrapped(reason: Exception) -> requests.ConnectionError:
    """A failure as requests raises it after urllib3's retries: the cause is the reason."""
    return requests.ConnectionError(urllib3.exceptions.MaxRetryError(POOL, "/", reason))


def bare_server() -> mediaserver.Server:
    """A started server of no plugin's, for ``send_once`` alone (its deliveries are plain calls)."""
    config, courier = mediaserver.ServerSettings(), delivery.Courier("t")
    server = mediaserver.Server("http://x", config, None, requests.Session(), courier)
    server.courier.start()
    return server


def test_send_once_joins_a_waiting_delivery_and_releases_the_key_before_delivering():
    """Deterministic, no server: while the first delivery of "k" runs (blocked), a second is
    queued; a third finds it waiting and joins it. Once the second has started, "k" is free
    again, so a job finishing during a slow request always gets a delivery of its own."""
    started, release, done = threading.Semaphore(0), threading.Event(), []

    def deliver(n: int) -> None:
        started.release()
        assert release.wait(5)
        done.append(n)

    server = bare_server()
    server.send_once("k", deliver, 1)
    assert started.acquire(timeout=5)  # 1 is running: its key was released before it ran
    server.send_once("k", deliver, 2)  # queued behind 1
    with capture_logs() as logs:
        server.send_once("k", deliver, 3)  # 2 is waiting: 3 joins it
    server.send_once("other", deliver, 4)
    release.set()
    server.close()
    assert done == [1, 2, 4]
    assert [(e["event"], e["key"]) for e in logs] == [("delivery_joined", "k")]
    assert server.queued == set() and server.sent == {}  # no gap: nothing remembered per key


def test_unanswered_means_sent_and_not_answered_never_not_connected():
    """Jellyfin's library mode treats an unanswered scan request as started: a request that
    never connected must not read as one."""
    read = urllib3.exceptions.ReadTimeoutError(POOL, "/", "read timed out")
    assert mediaserver.unanswered(requests.ReadTimeout()) and mediaserver.unanswered(wrapped(read))
    refused = urllib3.exceptions.NewConnectionError(None, "refused")
    connect = urllib3.exceptions.ConnectTimeoutError(None, "connect timed out")
    assert not any(mediaserver.unanswered(e) for e in (requests.ConnectTimeout(), wrapped(refused), wrapped(connect)))


def test_a_connection_dropped_after_sending_is_not_called_cannot_connect():
    dropped = urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError())
    exc = wrapped(dropped)
    assert mediaserver.failure(exc, 10.0).startswith("connection lost before the answer:")
    assert not mediaserver.unanswered(exc)  # a warning, not "started": nothing says the scan began


def test_a_gap_holds_the_next_delivery_which_later_jobs_join_until_shutdown_sends_it():
    """Timing-free: with a gap of an hour, the first delivery goes at once; the second waits
    (logged), a third joins it, and closing the server sends it at once instead of never."""
    done: list[int] = []
    server = bare_server()
    with capture_logs() as logs:
        server.send_once("k", done.append, 1, gap=3600)
        while not server.sent:  # the first went out (no wait) and was stamped
            time.sleep(0.01)
        server.send_once("k", done.append, 2, gap=3600)
        server.send_once("k", done.append, 3, gap=3600)  # joins 2
        while not [e for e in logs if e["event"] == "delivery_waiting"]:
            time.sleep(0.01)
        assert done == [1]
        server.close()
    assert done == [1, 2]
    waiting = next(e for e in logs if e["event"] == "delivery_waiting")
    assert waiting["key"] == "k" and 3590 < waiting["seconds"] <= 3600
