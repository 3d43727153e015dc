"""Settler: a path is due only once its size and mtime stopped changing."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from stat import S_IFREG
from types import SimpleNamespace

import pytest

from ingest.daemon.settle import Settler

MEDIA = Path("/media/tv/Show S01E01.mkv")


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeStat:
    """Regular files' sizes and mtimes by path; a missing path raises like os.stat; counts calls."""

    def __init__(self) -> None:
        self.files: dict[Path, tuple[int, int]] = {}
        self.calls = 0
        self.error: OSError | None = None

    def __call__(self, path: Path) -> SimpleNamespace:
        self.calls += 1
        if self.error:
            raise self.error
        if path not in self.files:
            raise FileNotFoundError(2, "No such file or directory", str(path))
        size, mtime_ns = self.files[path]
        return SimpleNamespace(st_mode=S_IFREG | 0o644, st_size=size, st_mtime_ns=mtime_ns)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fstat() -> FakeStat:
    fake = FakeStat()
    fake.files[MEDIA] = (1000, 1)
    return fake


@pytest.fixture
def settler(clock: FakeClock, fstat: FakeStat) -> Settler:
    return Settler(1.0, clock=clock, stat=fstat)


def run_until(settler: Settler, clock: FakeClock, until: float, step: float = 0.2, each=None) -> list:
    """Call due() every ``step`` fake seconds up to ``until``; ``each(now)`` runs before each call."""
    found = []
    while clock.now < until:
        clock.now = round(clock.now + step, 6)
        if each:
            each(clock.now)
        found += [(clock.now, *item) for item in settler.due()]
    return found


def test_quiet_file_is_due_after_two_equal_checks(settler, clock, fstat):
    settler.touch(MEDIA, "spec")
    assert settler.due() == []
    assert fstat.calls == 0, "not stat-ed before settle_seconds of quiet"
    clock.now += 1.0
    assert settler.due() == []  # first look: remember (size, mtime)
    clock.now += 0.9
    assert settler.due() == []  # same values, but that look was < settle_seconds ago
    clock.now += 0.1
    assert settler.due() == [(MEDIA, "spec")]
    assert settler.pending() == 0
    clock.now += 5
    assert settler.due() == []


def test_growing_file_without_events_is_never_due(settler, clock, fstat):
    """An SMB copy raises no events while it runs; the stat comparison holds it back."""
    settler.touch(MEDIA)

    def grow(now: float) -> None:
        fstat.files[MEDIA] = (int(now * 1000), 1)

    assert run_until(settler, clock, 130.0, each=grow) == []
    assert settler.pending() == 1
    settled = run_until(settler, clock, 140.0)
    assert [item[1] for item in settled] == [MEDIA]


def test_moving_mtime_at_a_fixed_size_is_never_due(settler, clock, fstat):
    """A preallocated download keeps its size while its mtime moves."""
    settler.touch(MEDIA)

    def rewrite(now: float) -> None:
        fstat.files[MEDIA] = (1000, int(now * 1e9))

    assert run_until(settler, clock, 120.0, each=rewrite) == []
    assert settler.pending() == 1


def test_gone_file_is_dropped(settler, clock, fstat):
    settler.touch(MEDIA)
    del fstat.files[MEDIA]
    clock.now += 1.0
    assert settler.due() == []
    assert settler.pending() == 0


def test_retouch_restarts_the_quiet_timer(settler, clock, fstat):
    settler.touch(MEDIA, "old")
    clock.now += 0.9
    settler.touch(MEDIA, "new")
    clock.now += 0.9
    assert settler.due() == []
    assert fstat.calls == 0
    clock.now += 0.1
    assert settler.due() == []  # first look
    clock.now += 0.5
    settler.touch(MEDIA, "newest")
    clock.now += 0.6
    assert settler.due() == [], "touched 0.6 s ago"
    clock.now += 0.4
    assert settler.due() == [(MEDIA, "newest")], "quiet for 1 s and unchanged since a look 1.5 s ago"


def test_touch_during_a_check_wins(clock, fstat):
    """A touch that lands while due() is stat-ing keeps the path waiting."""
    settler = Settler(1.0, clock=clock, stat=lambda p: (settler.touch(p), fstat(p))[1])
    settler.touch(MEDIA)
    assert run_until(settler, clock, 110.0) == []
    assert settler.pending() == 1


def test_forget_and_pending(settler, clock):
    other = MEDIA.with_name("other.mkv")
    settler.touch(MEDIA)
    settler.touch(other)
    settler.touch(MEDIA)
    assert settler.pending() == 2
    settler.forget(other)
    settler.forget(other)
    assert settler.pending() == 1


def test_stat_errors_keep_the_file_waiting(settler, clock, fstat):
    """EIO from a share that hiccups is not a verdict: two good looks are still needed."""
    settler.touch(MEDIA)
    fstat.error = OSError(5, "Input/output error")
    assert run_until(settler, clock, 110.0) == []
    assert settler.pending() == 1
    fstat.error = None
    settled = run_until(settler, clock, 113.0)
    assert [(item[1], round(item[0] - 110, 1)) for item in settled] == [(MEDIA, 2.0)]


def test_negative_settle_is_refused():
    with pytest.raises(ValueError, match="settle_seconds"):
        Settler(-1)


@pytest.mark.slow
@pytest.mark.parametrize("touch_each_chunk", [True, False], ids=["events", "silent-copy"])
def test_real_file_written_in_chunks_settles_once_after_the_last(tmp_path, touch_each_chunk):
    path = tmp_path / "Show S01E02.mkv"
    settler = Settler(0.5)
    last_write: list[float] = []

    def write() -> None:
        with path.open("wb") as out:
            for _ in range(8):  # 8 chunks, 0.2 s apart: ~1.5 s, each gap well under settle_seconds
                out.write(b"\0" * 65536)
                out.flush()
                last_write[:] = [time.monotonic()]
                if touch_each_chunk or out.tell() == 65536:
                    settler.touch(path, "spec")
                time.sleep(0.2)

    writer = threading.Thread(target=write)
    writer.start()
    seen: list[tuple[float, Path, object]] = []
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline and not (seen and time.monotonic() > seen[0][0] + 0.6):
        seen += [(time.monotonic(), *item) for item in settler.due()]
        time.sleep(0.05)
    writer.join()
    assert [item[1:] for item in seen] == [(path, "spec")]
    assert seen[0][0] >= last_write[0] + 0.5, "due before the file was quiet for settle_seconds"
    assert path.stat().st_size == 8 * 65536
    assert settler.pending() == 0
