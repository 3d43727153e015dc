"""``GET /metrics`` on real uvicorn, read back with prometheus_client's own parser after a
real job: the ledger's counts, the finished job's timings, the requests answered."""

from __future__ import annotations

from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from ingest import __version__
from tests.support.httpservice import Running, running


def scrape(url: str) -> dict[str, list[Sample]]:
    answer = requests.get(f"{url}/metrics", timeout=10)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain; version=")
    return {family.name: family.samples for family in text_string_to_metric_families(answer.text)}


def value(samples: list[Sample], name: str, **labels: str) -> float:
    found = [s.value for s in samples if s.name == name and labels.items() <= s.labels.items()]
    assert len(found) == 1, (name, labels, samples)
    return found[0]


def test_after_one_job_the_scrape_shows_it_done_timed_and_its_request_counted(service: Running, shared_media: Path):
    before = scrape(service.url)
    assert value(before["ingest_jobs"], "ingest_jobs", state="done") == 0
    assert value(before["ingest_job_duration_seconds"], "ingest_job_duration_seconds_count") == 0

    flac = (shared_media / "jfk.flac").read_bytes()
    files = {"file": ("jfk.flac", flac)}
    assert requests.post(f"{service.url}/transcribe", files=files, timeout=120).status_code == 200
    notes = {"file": ("notes.mkv", b"these are not the frames you are looking for\n" * 100)}
    refused = requests.post(f"{service.url}/transcribe", files=notes, timeout=30)
    assert refused.status_code == 400
    assert requests.get(f"{service.url}/no/such/route", timeout=5).status_code == 404

    after = scrape(service.url)
    jobs = after["ingest_jobs"]
    assert value(jobs, "ingest_jobs", state="done") == 1
    assert value(jobs, "ingest_jobs", state="pending") == value(after["ingest_queue_depth"], "ingest_queue_depth") == 0
    durations = after["ingest_job_duration_seconds"]
    assert value(durations, "ingest_job_duration_seconds_count") == 1
    assert value(durations, "ingest_job_duration_seconds_sum") > 0
    rtf = after["ingest_job_realtime_factor"]
    assert value(rtf, "ingest_job_realtime_factor_count") == 1
    assert 0 < value(rtf, "ingest_job_realtime_factor_sum") < 5  # about 0.1 here; more on a busy CPU

    asked = after["ingest_http_requests"]
    name = "ingest_http_requests_total"
    assert value(asked, name, method="POST", route="/transcribe", status="200") == 1
    assert value(asked, name, method="POST", route="/transcribe", status="400") == 1
    assert value(asked, name, method="GET", route="none", status="404") == 1  # never the raw path
    assert value(asked, name, method="GET", route="/metrics", status="200") == 1  # the first scrape
    assert value(after["ingest_build_info"], "ingest_build_info", version=__version__) == 1


def test_each_app_counts_only_its_own_requests(service: Running, tmp_path: Path):
    """Several apps in one process (the tests, ``ingest run`` restarted in place) never share counts."""
    requests.get(f"{service.url}/status", timeout=5)
    with running(tmp_path / "other") as other:
        samples = scrape(other.url).get("ingest_http_requests", [])
        assert [s for s in samples if s.labels.get("route") == "/status"] == []
    assert value(scrape(service.url)["ingest_http_requests"], "ingest_http_requests_total", route="/status") == 1
