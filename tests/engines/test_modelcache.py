from __future__ import annotations

import threading
import time

from ingest.engines.modelcache import ModelCache, Sweeper


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_models_stay_loaded_between_uses_and_go_when_idle():
    clock, loads = Clock(), []
    cache = ModelCache(idle_seconds=60, clock=clock)

    def loader() -> object:
        loads.append(1)
        return object()

    with cache.use("tiny", loader) as first:
        pass
    clock.now = 59
    with cache.use("tiny", loader) as second:
        pass
    assert first is second and len(loads) == 1
    clock.now = 118
    assert cache.sweep() == []
    clock.now = 119
    assert cache.sweep() == ["tiny"]
    assert cache.loaded() == []
    with cache.use("tiny", loader):
        pass
    assert len(loads) == 2


def test_a_model_in_use_is_never_dropped():
    clock = Clock()
    cache = ModelCache(idle_seconds=1, clock=clock)
    with cache.use("base", object):
        clock.now = 100
        assert cache.sweep() == []
    clock.now = 101
    assert cache.sweep() == ["base"]


def test_no_idle_limit_keeps_models():
    cache = ModelCache(idle_seconds=None)
    with cache.use("a", object):
        pass
    assert cache.sweep() == [] and cache.loaded() == ["a"]


def test_sweeper_thread_unloads_and_stops():
    cache = ModelCache(idle_seconds=0.05)
    with cache.use("a", object):
        pass
    sweeper = Sweeper(cache, interval=0.02)
    sweeper.start()
    deadline = time.monotonic() + 5
    while cache.loaded() and time.monotonic() < deadline:
        time.sleep(0.01)
    sweeper.stop()
    assert cache.loaded() == []
    assert not sweeper.is_alive() and sweeper not in threading.enumerate()


def test_a_retired_model_is_loaded_afresh_once_its_users_let_go():
    cache, loads = ModelCache(), []

    def loader() -> object:
        loads.append(1)
        return object()

    with cache.use("m", loader) as first:
        cache.retire("m")
        with cache.use("m", loader) as meanwhile:  # a job starting now must not share its state
            assert meanwhile is not first
    with cache.use("m", loader) as after:
        pass
    assert after is meanwhile and len(loads) == 2
    cache.retire("gone")  # nothing loaded under that key: nothing to do
    with cache.use("m", loader):
        cache.retire("m")
    assert cache.loaded() == []
