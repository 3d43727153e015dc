"""bench.server measures what it says, on small inputs against a real service (``ingest run``
with ``[server] enabled``, tiny.en on the CPU, uvicorn on loopback, a watched folder).

The figures in BENCHMARKS.md are only as good as these gauges: a percentile must be the
percentile, the upload generator must hold one block and send the length it announces,
the memory sampler must see a process grow, and each measure must find its jobs in the
ledger and the service's log.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.server import Clips, backfill_rounds, identical_rounds, status_rounds, upload_memory
from bench.server_load import BLOCK, RssSampler, hammer, multipart, quantile, reset_peak, rss
from bench.server_service import Service
from ingest.server.spool import wav_header

pytestmark = pytest.mark.slow  # a real daemon process with the model loaded

MIB = 2**20


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, shared_media: Path) -> Iterator[tuple[Service, Clips, Path]]:
    work = tmp_path_factory.mktemp("bench-server")
    watch = work / "library"
    watch.mkdir()
    with Service(work / "service", watch=watch, max_upload_mb=64) as svc:
        yield svc, Clips(work / "clips"), watch


def test_quantile_is_the_nearest_rank():
    values = [float(n) for n in range(100, 0, -1)]
    assert quantile(values, 0.99) == 99 and quantile(values, 0.5) == 50 and quantile(values, 1.0) == 100
    assert math.isnan(quantile([], 0.5))


def test_the_upload_generator_holds_one_block_and_sends_the_length_it_announces():
    lead = b"\x01\x00" * 10
    headers, length, body = multipart("audio_file", "big.wav", 3 * BLOCK + 6, lead)
    chunks = list(body)
    data = b"".join(chunks)
    assert len(data) == length == int(headers["Content-Length"])
    assert max(len(c) for c in chunks) <= BLOCK
    assert wav_header(3 * BLOCK + 6) + lead in data and data.endswith(b"--\r\n")


def test_the_sampler_sees_a_process_grow_and_the_kernel_peak_resets():
    with RssSampler(os.getpid(), every=0.005) as sampler:
        before = sampler.samples[0][1]
        block = bytearray(64 * MIB)  # zero-filled: every page touched
        time.sleep(0.1)
    assert sampler.peak() - before >= 60 * MIB
    del block
    assert reset_peak(os.getpid())
    assert rss(os.getpid(), "VmHWM") - rss(os.getpid()) < 8 * MIB


def test_hammer_counts_answers_and_failures(world: tuple[Service, Clips, Path]):
    svc, _, _ = world
    load = hammer(svc.url, 0.3, clients=2)
    assert load.latencies and load.errors == 0 and load.rate > 0 and load.quantile(0.5) > 0
    refused = hammer("http://127.0.0.1:9", 0.2, clients=1)  # the discard port: nothing listens
    assert refused.latencies == [] and refused.errors > 0


def test_status_rounds_measure_while_the_job_runs(world: tuple[Service, Clips, Path]):
    svc, clips, _ = world
    (one,) = status_rounds(svc, clips, argparse.Namespace(rounds=1, seconds=0.5, clients=1))
    assert one["idle"].latencies and one["busy"].latencies and one["busy"].errors == 0
    assert one["covered"] and one["job_seconds"] > one["busy"].seconds


def test_upload_memory_streams_into_the_spool_and_leaves_no_temp_file(world: tuple[Service, Clips, Path]):
    svc, clips, _ = world
    up = upload_memory(svc, clips, 16)
    assert up["status"] == 200 and '"language_code":"en"' in up["body"]
    assert up["temps"] == [] and 16 * MIB + 44 in {size for _, size in up["blobs"]}
    assert up["before"] <= up["peak_upload"] <= up["peak_request"]


def test_identical_requests_are_counted_as_one_row_and_one_run(world: tuple[Service, Clips, Path]):
    svc, clips, _ = world
    (one,) = identical_rounds(svc, clips, argparse.Namespace(rounds=1, burst=3))
    assert (one["rows"], one["runs"], one["ok"], one["same"]) == (1, 1, 3, True)
    assert one["alone"]["run"] > 0 and one["alone"]["seconds"] >= one["alone"]["run"]


def test_backfill_rounds_find_the_backfill_and_the_request_in_the_log(world: tuple[Service, Clips, Path]):
    svc, clips, watch = world
    result = backfill_rounds(svc, clips, watch, argparse.Namespace(rounds=1, backfill=3))
    (one,) = result["rounds"]
    assert len(list(watch.glob("*.flac"))) == 3 and result["job"] > 0
    assert 0 <= one["pending"] <= 3 and 0 <= one["ahead"] <= 3
    assert one["wait"] >= 0 and one["claimed"] <= one["wait"] + 0.1 and one["seconds"] >= one["wait"] + one["run"]
