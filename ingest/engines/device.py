"""Where an engine runs: device choice, and the way back from a full GPU.

``auto`` means the first CUDA device when there is one, else the CPU. A CUDA
out-of-memory error never crashes a worker: the file is tried again with a smaller
batch, then on the CPU, and the log says so.
"""

from __future__ import annotations

import os
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


def torch_threads(setting: int = 0) -> None:
    """torch's CPU threads, for every torch stage (openai-whisper, diarization): ``setting``
    when given (``transcribe.cpu_threads``); else one on two cores or fewer, unless
    ``OMP_NUM_THREADS`` says. torch's OpenMP threads spin waiting for each other after every
    small operation, and a decoder step or an LSTM step is many. Measured on 2 cores:
    diarization beside another busy process took 2.5x as long on 2 threads as on 1 (alone, 2
    were about 15% faster); openai-whisper tiny.en over 10 files (bench/results/engine-parity.md)
    took 67 s on 2 threads against 130 s on 1 on a quiet machine, but 365-1123 s against
    130-133 s while other work held the cores. One thread costs at most half the speed; two
    can cost ten times. The setting is process-wide.
    """
    import torch

    small = (os.cpu_count() or 1) <= 2 and "OMP_NUM_THREADS" not in os.environ
    wanted = setting or (1 if small else 0)
    if wanted and torch.get_num_threads() != wanted:
        torch.set_num_threads(wanted)
        log.info("torch_threads_set", threads=wanted, cpu_count=os.cpu_count())
