"""The courier delivers in order off the job's thread; the session retries 5xx answers."""

from __future__ import annotations

import threading

import structlog

from ingest.notify import delivery


def test_courier_runs_deliveries_in_order_on_its_own_thread():
    seen, threads = [], set()
    courier = delivery.Courier("test")
    courier.start()
    for n in range(5):
        courier.send(lambda n=n: (seen.append(n), threads.add(threading.current_thread().name)))
    courier.close()
    assert seen == [0, 1, 2, 3, 4]
    assert threads == {"ingest-test"}


def test_a_failing_delivery_is_logged_and_the_next_one_still_runs():
    seen = []
    courier = delivery.Courier("test")
    courier.start()

    def boom():
        raise ConnectionError("server down")

    with structlog.testing.capture_logs() as logs:
        courier.send(boom)
        courier.send(seen.append, "after")
        courier.close()
    assert seen == ["after"]
    assert any(e["event"] == "delivery_failed" and "server down" in e["error"] for e in logs)


def test_an_unstarted_courier_delivers_inline():
    seen = []
    courier = delivery.Courier("test")
    courier.send(seen.append, 1)
    assert seen == [1]
    courier.close()


def test_session_retries_server_errors_then_succeeds(http_recorder):
    http_recorder.answer("/hook", (503, {}), (502, {}), (200, {"ok": True}))
    answer = delivery.session(retries=2, backoff=0).post(http_recorder.url + "/hook", json={"a": 1}, timeout=5)
    assert answer.status_code == 200
    assert len(http_recorder.requests) == 3
    assert all(r.json() == {"a": 1} for r in http_recorder.requests)


def test_session_gives_up_after_its_retries(http_recorder):
    http_recorder.answer("/hook", (500, {}))
    answer = delivery.session(retries=1, backoff=0).post(http_recorder.url + "/hook", timeout=5)
    assert answer.status_code == 500
    assert len(http_recorder.requests) == 2
