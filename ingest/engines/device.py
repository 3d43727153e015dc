"""Where an engine runs: device choice, and the way back from a full GPU.

``auto`` means the first CUDA device when there is one, else the CPU. A CUDA
out-of-memory error never crashes a worker: the file is tried again with a smaller
batch, then on the CPU, and the log says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import structlog

log = structlog.get_logger(__name__)
T = TypeVar("T")
GPU_BATCH = 8  # faster-whisper's own default for its batched pipeline


@dataclass(frozen=True)
class Plan:
    """One way to run a transcription: device, its index, and the batch size (1: sequential)."""

    device: str
    index: int = 0
    batch_size: int = 1

    @property
    def name(self) -> str:
        return f"{self.device}:{self.index}" if self.device == "cuda" else self.device


def cuda_devices() -> int:
    """How many CUDA devices this process can use (ctranslate2 asks without loading torch)."""
    import ctranslate2

    try:
        return ctranslate2.get_cuda_device_count()
    except RuntimeError:  # a driver that is missing or broken means: CPU only
        return 0


def plan(setting: str, batch_size: int = 0) -> Plan:
    """``auto``/``cpu``/``cuda``/``cuda:N`` and a batch setting (0: automatic) → a plan."""
    if setting == "auto":
        device, index = ("cuda", 0) if cuda_devices() else ("cpu", 0)
    else:
        device, _, number = setting.partition(":")
        index = int(number or 0)
    batch = batch_size or (GPU_BATCH if device == "cuda" else 1)
    return Plan(device, index, batch)


def is_out_of_memory(exc: BaseException) -> bool:
    """torch raises ``OutOfMemoryError``; CTranslate2 a RuntimeError naming it."""
    return type(exc).__name__ == "OutOfMemoryError" or "out of memory" in str(exc).lower()


def fallbacks(first: Plan) -> Iterator[Plan]:
    """The plan, then halved batches on the same device, then the CPU, sequential."""
    yield first
    batch = first.batch_size
    while batch > 1:
        batch //= 2
        yield replace(first, batch_size=batch)
    if first.device != "cpu":
        yield Plan("cpu", 0, 1)


def run_with_fallback(first: Plan, attempt: Callable[[Plan], T], path: Path) -> T:
    """``attempt(plan)`` along the fallbacks until one fits in memory."""
    plans = list(fallbacks(first))
    for n, current in enumerate(plans):
        try:
            return attempt(current)
        except RuntimeError as exc:  # torch's OutOfMemoryError is a RuntimeError too
            if not is_out_of_memory(exc) or n + 1 == len(plans):
                raise
            following = plans[n + 1]
            log.warning(
                "cuda_out_of_memory",
                file=str(path),
                device=current.name,
                batch_size=current.batch_size,
                retry_device=following.name,
                retry_batch_size=following.batch_size,
            )
    raise AssertionError("unreachable: the last plan either returns or raises")
