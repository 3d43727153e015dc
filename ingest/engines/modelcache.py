"""Loaded models, kept warm between jobs and let go when idle.

A worker loads a model once and reuses it; after ``idle_seconds`` without a job the
model is dropped (and the GPU memory handed back) so a media server can transcode.
A model in use is never dropped.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any

import structlog

from ingest.engines.weights import ModelRef

log = structlog.get_logger(__name__)


@dataclass
class _Entry:
    model: Any
    last_used: float
    users: int = 0
    key: Hashable = field(default=None, repr=False)
    retired: bool = False  # dropped when its last user lets go


class ModelCache:
    def __init__(self, idle_seconds: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_seconds = idle_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[Hashable, _Entry] = {}

    @contextlib.contextmanager
    def use(self, key: Hashable, loader: Callable[[], Any]) -> Iterator[Any]:
        """The model for ``key`` (loaded on first use), held for the block."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.retired:
                entry = self._entries[key] = _Entry(loader(), self._clock(), key=key)
            entry.users += 1
        try:
            yield entry.model
        finally:
            with self._lock:
                entry.users -= 1
                entry.last_used = self._clock()
                if entry.retired and not entry.users and self._entries.get(key) is entry:
                    del self._entries[key]

    def retire(self, key: Hashable) -> None:
        """Load ``key`` afresh for the next job, once this one lets go: its state has
        changed in a way a new job must not see (a sampling stream drawn from)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                entry.retired = True

    def sweep(self) -> list[Hashable]:
        """Drop every model idle for longer than ``idle_seconds``; return their keys."""
        if self.idle_seconds is None:
            return []
        now = self._clock()
        with self._lock:
            idle = [k for k, e in self._entries.items() if not e.users and now - e.last_used >= self.idle_seconds]
            for key in idle:
                del self._entries[key]
        if idle:
            release_memory()
            log.info("models_unloaded", models=[str(k) for k in idle], idle_seconds=self.idle_seconds)
        return idle

    def loaded(self) -> list[Hashable]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
        release_memory()


def announce(engine: str, ref: ModelRef, device: str, compute_type: str) -> None:
    """The one log line every engine writes when it loads a model."""
    log.info(
        "model_loading",
        engine=engine,
        model=ref.name,
        source=ref.source,
        location=ref.location,
        device=device,
        compute_type=compute_type,
    )


def release_memory() -> None:
    """Collect the dropped models and return cached CUDA memory to the driver."""
    gc.collect()
    torch = sys.modules.get("torch")  # only when an engine already imported it
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


class Sweeper(threading.Thread):
    """Sweeps a cache every ``interval`` seconds until ``stop()``; joinable."""

    def __init__(self, cache: ModelCache, interval: float) -> None:
        super().__init__(name="ingest-model-sweeper", daemon=False)
        self.cache = cache
        self.interval = interval
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            self.cache.sweep()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop_event.set()
        self.join(timeout)


CACHE = ModelCache()
