from __future__ import annotations

from pathlib import Path

import pytest
import structlog

from ingest.engines import device
from ingest.engines.device import Plan


def test_plans_from_settings():
    assert device.plan("cpu") == Plan("cpu", 0, 1)
    assert device.plan("cuda:1") == Plan("cuda", 1, device.GPU_BATCH)
    assert device.plan("cuda", batch_size=4) == Plan("cuda", 0, 4)
    assert device.plan("auto") == (Plan("cuda", 0, 8) if device.cuda_devices() else Plan("cpu", 0, 1))


def test_fallbacks_halve_the_batch_then_leave_the_gpu():
    assert list(device.fallbacks(Plan("cuda", 1, 8))) == [
        Plan("cuda", 1, 8),
        Plan("cuda", 1, 4),
        Plan("cuda", 1, 2),
        Plan("cuda", 1, 1),
        Plan("cpu", 0, 1),
    ]
    assert list(device.fallbacks(Plan("cpu", 0, 1))) == [Plan("cpu", 0, 1)]


@pytest.mark.parametrize(
    ("exc", "oom"),
    [
        (RuntimeError("CUDA failed with error out of memory"), True),  # CTranslate2's wording
        (type("OutOfMemoryError", (RuntimeError,), {})("CUDA out of memory. Tried to allocate 2 GiB"), True),
        (RuntimeError("CUDA driver version is insufficient"), False),
    ],
)
def test_out_of_memory_is_recognised(exc, oom):
    assert device.is_out_of_memory(exc) is oom


def test_run_with_fallback_retries_and_says_so():
    tried: list[Plan] = []

    def attempt(plan: Plan) -> str:
        tried.append(plan)
        if plan.device == "cuda":
            raise RuntimeError("CUDA failed with error out of memory")
        return "done on " + plan.name

    with structlog.testing.capture_logs() as logs:
        assert device.run_with_fallback(Plan("cuda", 0, 2), attempt, Path("a.mkv")) == "done on cpu"
    assert tried == [Plan("cuda", 0, 2), Plan("cuda", 0, 1), Plan("cpu", 0, 1)]
    events = [(e["event"], e["batch_size"], e["retry_device"]) for e in logs]
    assert events == [("cuda_out_of_memory", 2, "cuda:0"), ("cuda_out_of_memory", 1, "cpu")]


def test_other_errors_and_the_last_oom_propagate():
    def broken(plan: Plan) -> None:
        raise RuntimeError("CUDA driver version is insufficient")

    with pytest.raises(RuntimeError, match="insufficient"):
        device.run_with_fallback(Plan("cuda", 0, 8), broken, Path("a.mkv"))

    def always_oom(plan: Plan) -> None:
        raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError, match="out of memory"):
        device.run_with_fallback(Plan("cpu", 0, 1), always_oom, Path("a.mkv"))
