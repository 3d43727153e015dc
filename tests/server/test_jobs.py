"""ingest's own job API on real uvicorn: submit without waiting, poll, fetch the outputs,
list by state, retry, remove a pending job, follow a job's progress as server-sent events,
and library paths held inside the library. Real tiny.en on the CPU transcribes JFK."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pysrt
import pytest
import requests

from ingest.server.queue import INTERACTIVE
from tests.support import mediafactory as mf
from tests.support.httpservice import Running, running

WORDS = "ask not what your country can do for you"
TIMEOUT = 30


@pytest.fixture
def library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A watched folder (its settle time long, so only the request queues what is put in it)."""
    folder = tmp_path / "library"
    folder.mkdir()
    monkeypatch.setenv("INGEST_WATCHES", json.dumps([{"path": str(folder), "settle_seconds": 600}]))
    return folder


@pytest.fixture(scope="module")
def long_flac(shared_media: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """JFK eight times over (88 s): a job that runs for a while on the CPU."""
    path = tmp_path_factory.mktemp("long") / "jfk8.flac"
    jfk = str(shared_media / "jfk.flac")
    mf.ffmpeg(*[arg for _ in range(8) for arg in ("-i", jfk)], "-filter_complex", "concat=n=8:v=0:a=1", path)
    return path


def spoken(srt: str) -> str:
    """The words of an SRT, read with pysrt, one line however the cues break them."""
    cues = pysrt.from_string(srt)
    assert len(cues) >= 1
    return " ".join(cue.text.replace("\n", " ") for cue in cues).lower().replace(",", "")


def post_upload(url: str, media: Path, **params: str) -> requests.Response:
    files = {"file": (media.name, media.read_bytes())}
    return requests.post(f"{url}/jobs", params=params, files=files, timeout=TIMEOUT)


def wait_for(url: str, job_id: str, *states: str, limit: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + limit
    while True:
        job = requests.get(f"{url}/jobs/{job_id}", timeout=TIMEOUT).json()
        if job["state"] in states:
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job['state']}"
        time.sleep(0.1)


def test_an_upload_is_answered_at_once_and_its_srt_fetched_once_done(service: Running, shared_media: Path):
    started = time.monotonic()
    answer = post_upload(service.url, shared_media / "jfk.flac", language="en")
    assert answer.status_code == 202 and time.monotonic() - started < 5
    job = answer.json()
    assert job["kind"] == "upload" and job["state"] in ("pending", "running") and job["media"] is None
    assert set(job) >= {"id", "progress", "language", "error", "created_at", "updated_at", "outputs"}
    done = wait_for(service.url, job["id"], "done", "failed")
    assert done["state"] == "done" and done["progress"] == 1.0 and done["error"] is None
    assert done["language"] == "en"
    assert done["outputs"] == {fmt: f"/jobs/{job['id']}/outputs/{fmt}" for fmt in ("json", "srt", "txt", "vtt")}
    srt = requests.get(service.url + done["outputs"]["srt"], timeout=TIMEOUT)
    assert srt.headers["content-type"].startswith("text/plain")
    assert WORDS in spoken(srt.text)
    vtt = requests.get(service.url + done["outputs"]["vtt"], timeout=TIMEOUT)
    assert vtt.headers["content-type"].startswith("text/vtt") and vtt.text.startswith("WEBVTT")
    txt = requests.get(service.url + done["outputs"]["txt"], timeout=TIMEOUT)
    assert "ask not what your country" in txt.text.lower()
    assert requests.get(service.url + done["outputs"]["json"], timeout=TIMEOUT).json()["segments"]
    again = post_upload(service.url, shared_media / "jfk.flac", language="en")
    assert again.status_code == 202 and again.json()["id"] == job["id"]  # the same request: the same job


def test_unknown_jobs_and_formats_are_404s_with_a_detail(service: Running, shared_media: Path):
    for path in ("/jobs/nothing", "/jobs/" + "0" * 32, "/jobs/p" + "0" * 32 + "/outputs/srt", "/jobs/x/events"):
        answer = requests.get(service.url + path, timeout=TIMEOUT)
        assert answer.status_code == 404 and "no job" in answer.json()["detail"], path
    paths = requests.get(f"{service.url}/openapi.json", timeout=TIMEOUT).json()["paths"]  # what /docs shows
    assert {"/jobs", "/jobs/{job_id}", "/jobs/{job_id}/outputs/{fmt}", "/jobs/{job_id}/events"} <= set(paths)
    assert requests.delete(f"{service.url}/jobs/nothing", timeout=TIMEOUT).status_code == 404
    assert requests.post(f"{service.url}/jobs/nothing/retry", timeout=TIMEOUT).status_code == 404
    job = post_upload(service.url, shared_media / "jfk.flac", language="en").json()
    wait_for(service.url, job["id"], "done")
    answer = requests.get(f"{service.url}/jobs/{job['id']}/outputs/ass", timeout=TIMEOUT)
    assert answer.status_code == 404 and "'ass'" in answer.json()["detail"]


def test_bad_requests_are_400s_and_leave_nothing_in_the_spool(service: Running, shared_media: Path):
    for params in ({"task": "dance"}, {"diarize": "maybe"}, {"min_speakers": "0"}, {"language": "klingon"}):
        answer = post_upload(service.url, shared_media / "jfk.flac", **params)
        assert answer.status_code == 400 and answer.json()["detail"], params
    answer = requests.post(f"{service.url}/jobs", json={"nopath": 1}, timeout=TIMEOUT)
    assert answer.status_code == 400 and "path" in answer.json()["detail"]
    answer = requests.get(f"{service.url}/jobs", params={"state": "bogus"}, timeout=TIMEOUT)
    assert answer.status_code == 400 and "bogus" in answer.json()["detail"]
    assert service.spool_files() == [] and service.rows() == []


def test_a_pending_job_is_listed_by_state_and_removed_and_a_running_one_is_not(
    service: Running, shared_media: Path, long_flac: Path
):
    first = post_upload(service.url, long_flac, language="en").json()
    second = post_upload(service.url, long_flac).json()  # another job: the one decoded behind the first
    third = post_upload(service.url, shared_media / "jfk.flac", language="en").json()
    wait_for(service.url, first["id"], "running")
    wait_for(service.url, second["id"], "running")  # claimed and decoded while the first runs
    listed = requests.get(f"{service.url}/jobs", timeout=TIMEOUT).json()["jobs"]
    assert [j["id"] for j in listed] == [third["id"], second["id"], first["id"]]  # newest first
    pending = requests.get(f"{service.url}/jobs", params={"state": "pending"}, timeout=TIMEOUT).json()["jobs"]
    assert [j["id"] for j in pending] == [third["id"]]
    both = requests.get(f"{service.url}/jobs?state=pending&state=running", timeout=TIMEOUT).json()["jobs"]
    assert {j["id"] for j in both} == {first["id"], second["id"], third["id"]}
    comma = requests.get(f"{service.url}/jobs?state=running,done&limit=1", timeout=TIMEOUT).json()["jobs"]
    assert len(comma) == 1 and comma[0]["state"] == "running"

    busy = f"{service.url}/jobs/{first['id']}"
    for answer in (requests.delete(busy, timeout=TIMEOUT), requests.post(f"{busy}/retry", timeout=TIMEOUT)):
        assert answer.status_code == 409 and "running" in answer.json()["detail"]
    assert requests.get(f"{busy}/outputs/srt", timeout=TIMEOUT).status_code == 409
    assert requests.post(f"{service.url}/jobs/{third['id']}/retry", timeout=TIMEOUT).status_code == 409

    removed = requests.delete(f"{service.url}/jobs/{third['id']}", timeout=TIMEOUT)
    assert removed.status_code == 204 and removed.content == b""
    assert requests.get(f"{service.url}/jobs/{third['id']}", timeout=TIMEOUT).status_code == 404
    assert not (service.state_dir / "server" / "jobs" / third["id"]).exists()
    assert len(service.rows()) == 2 and wait_for(service.url, first["id"], "done")["state"] == "done"


def test_a_finished_job_is_retried_afresh(service: Running, shared_media: Path):
    job = post_upload(service.url, shared_media / "jfk.flac", language="en").json()
    done = wait_for(service.url, job["id"], "done")
    answer = requests.post(f"{service.url}/jobs/{job['id']}/retry", timeout=TIMEOUT)
    assert answer.status_code == 202 and answer.json()["state"] in ("pending", "running")
    again = wait_for(service.url, job["id"], "done")
    assert again["updated_at"] > done["updated_at"] and "srt" in again["outputs"]
    assert [row["priority"] for row in service.rows()] == [INTERACTIVE]


def test_a_library_path_is_queued_ahead_and_written_beside_the_media(tmp_path: Path, library: Path, shared_media: Path):
    with running(tmp_path / "state") as service:
        media = library / "Show" / "jfk.flac"
        media.parent.mkdir()
        media.write_bytes((shared_media / "jfk.flac").read_bytes())
        answer = requests.post(f"{service.url}/jobs", json={"path": str(media), "language": "en"}, timeout=TIMEOUT)
        assert answer.status_code == 202
        job = answer.json()
        assert job["kind"] == "path" and job["media"] == str(media) and job["id"].startswith("p")
        done = wait_for(service.url, job["id"], "done")
        beside = sorted(media.parent.glob("jfk*.srt"))
        assert len(beside) == 1 and WORDS in spoken(beside[0].read_text())
        assert requests.get(service.url + done["outputs"]["srt"], timeout=TIMEOUT).text == beside[0].read_text()
        (row,) = service.rows()
        assert row["path"] == str(media) and row["priority"] == INTERACTIVE and row["watch"] == str(library)
        form = requests.post(f"{service.url}/jobs", data={"path": str(media)}, timeout=TIMEOUT)
        assert form.status_code == 202 and form.json()["id"] == job["id"] and form.json()["state"] == "done"
        assert requests.delete(f"{service.url}/jobs/{job['id']}", timeout=TIMEOUT).status_code == 204
        assert [r["state"] for r in service.rows()] == ["done"]  # the file is not run again


def test_paths_out_of_the_library_are_refused_and_nothing_is_queued(tmp_path: Path, library: Path, shared_media: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "jfk.flac"
    secret.write_bytes((shared_media / "jfk.flac").read_bytes())
    (library / "link.flac").symlink_to(secret)
    (library / "notes.txt").write_text("not media")
    refused = {
        f"{library}/../outside/jfk.flac": (403, "'..'"),
        str(library / "link.flac"): (403, "symlink"),
        str(secret): (422, "not inside a library"),
        "relative/jfk.flac": (422, "absolute"),
        str(library / "missing.flac"): (422, "no such file"),
        str(library / "notes.txt"): (422, "not media"),
    }
    with running(tmp_path / "state") as service:
        for path, (status, words) in refused.items():
            answer = requests.post(f"{service.url}/jobs", params={"path": path}, timeout=TIMEOUT)
            assert answer.status_code == status and words in answer.json()["detail"], path
        assert service.rows() == [] and requests.get(f"{service.url}/jobs", timeout=TIMEOUT).json() == {"jobs": []}
    assert list(outside.iterdir()) == [secret]  # nothing written beside the file out of reach


def test_events_follow_a_job_to_its_end(service: Running, shared_media: Path):
    job = post_upload(service.url, shared_media / "jfk.flac", language="en").json()
    events: list[tuple[str, Any]] = []
    with httpx.stream("GET", f"{service.url}/jobs/{job['id']}/events", timeout=60) as stream:
        assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
        name = None
        for line in stream.iter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and name is not None:
                events.append((name, json.loads(line.split(":", 1)[1])))
                name = None
    assert [name for name, _ in events].count("end") == 1 and events[-1][0] == "end"
    name, last = events[-2]
    assert name == "job" and last["state"] == "done" and last["id"] == job["id"] and "srt" in last["outputs"]
    assert all(name == "job" for name, _ in events[:-1])


def test_a_client_that_leaves_the_stream_leaves_the_job_running(service: Running, long_flac: Path):
    job = post_upload(service.url, long_flac, language="en").json()
    with httpx.stream("GET", f"{service.url}/jobs/{job['id']}/events", timeout=60) as stream:
        first = next(line for line in stream.iter_lines() if line.startswith("data:"))
    assert json.loads(first.split(":", 1)[1])["state"] in ("pending", "running")
    assert wait_for(service.url, job["id"], "done", "failed")["state"] == "done"
