"""Requests on the daemon's own queue: identical requests share one job, a client that lost
its connection gets the finished result, the event loop answers while a job runs, and
finished jobs go once kept long enough. Real uvicorn, real tiny.en, real clients."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import requests

from ingest.server.app import JOB_FORMATS
from ingest.server.queue import JobQueue
from tests.support import mediafactory as mf
from tests.support.httpservice import Running, running

N_CLIENTS = 4


@pytest.fixture(scope="module")
def long_flac(shared_media: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """JFK four times over (44 s): a job that runs for a few seconds on the CPU."""
    path = tmp_path_factory.mktemp("long") / "jfk4.flac"
    jfk = str(shared_media / "jfk.flac")
    mf.ffmpeg("-i", jfk, "-i", jfk, "-i", jfk, "-i", jfk, "-filter_complex", "concat=n=4:v=0:a=1", path)
    return path


def asr(url: str, pcm: bytes, timeout: tuple[float, float] = (5, 3600)) -> requests.Response:
    params = {"task": "transcribe", "language": "en", "output": "srt", "encode": "false"}
    return requests.post(f"{url}/asr", params=params, files={"audio_file": ("audio_file", pcm)}, timeout=timeout)


def test_identical_requests_at_once_share_one_job(service: Running, jfk_pcm: bytes):
    answers: list[requests.Response] = []
    threads = [threading.Thread(target=lambda: answers.append(asr(service.url, jfk_pcm))) for _ in range(N_CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert [a.status_code for a in answers] == [200] * N_CLIENTS
    assert len({a.text for a in answers}) == 1
    rows = service.rows()
    assert len(rows) == 1 and rows[0]["state"] == "done" and rows[0]["attempts"] == 0


def test_a_retry_after_a_disconnect_gets_the_finished_result_without_a_second_run(service: Running, jfk_pcm: bytes):
    with pytest.raises(requests.ReadTimeout):
        asr(service.url, jfk_pcm, timeout=(5, 0.3))  # the client gives up; the job runs on
    deadline = time.monotonic() + 60
    while not (rows := service.rows()) or rows[0]["state"] != "done":
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.1)
    finished_at = rows[0]["updated_at"]
    again = asr(service.url, jfk_pcm)
    assert again.status_code == 200 and "ask not what your country" in again.text.lower()
    rows = service.rows()
    assert len(rows) == 1 and rows[0]["updated_at"] == finished_at  # not run again


def test_status_answers_while_a_transcription_runs(service: Running, long_flac: Path):
    files = {"audio_file": ("jfk4.flac", long_flac.read_bytes())}
    post = threading.Thread(target=requests.post, args=(f"{service.url}/asr",), kwargs={"files": files, "timeout": 120})
    post.start()
    try:
        deadline = time.monotonic() + 60
        while not (rows := service.rows()) or rows[0]["state"] != "running":
            assert time.monotonic() < deadline, "the job never started"
            time.sleep(0.05)
        answers = [requests.get(f"{service.url}/status", timeout=5) for _ in range(5)]
        still_running = service.rows()[0]["state"] == "running"
    finally:
        post.join(120)
    assert [a.status_code for a in answers] == [200] * 5 and answers[0].json()["version"]
    assert still_running  # answered during the transcription, not after it
    assert service.rows()[0]["state"] == "done"


def test_finished_jobs_go_once_kept_long_enough(tmp_path: Path, jfk_pcm: bytes):
    with running(tmp_path / "state", server={"result_keep_seconds": 0}) as service:
        assert asr(service.url, jfk_pcm).status_code == 200
        jobs = tmp_path / "state" / "server" / "jobs"
        assert len(list(jobs.iterdir())) == 1
        queue = JobQueue(service.daemon.shared, JOB_FORMATS)
        time.sleep(0.05)
        assert len(queue.sweep()) == 1
        assert list(jobs.iterdir()) == [] and service.rows() == []
        assert asr(service.url, jfk_pcm).status_code == 200  # asked again: a fresh job
        assert len(service.rows()) == 1
