"""Watcher: real files, real observers (inotify and polling), in tmp_path."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import structlog
from watchdog.events import DirCreatedEvent, DirMovedEvent

from ingest.daemon.mediafiles import WatchSpec, scan, wanted
from ingest.daemon.watcher import Watcher, _Handler
from tests.support import unprivileged

POLL = 0.1  # polling observers and the re-arm supervisor, kept short for tests


class Recorder:
    """Collects on_file/on_gone calls from observer threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.files: list[Path] = []
        self.gone: list[Path] = []
        self.specs: set[WatchSpec] = set()

    def on_file(self, path: Path, spec: WatchSpec) -> None:
        with self.lock:
            self.files.append(path)
            self.specs.add(spec)

    def on_gone(self, path: Path, spec: WatchSpec) -> None:
        with self.lock:
            self.gone.append(path)

    def wait(self, what: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if what():
                    return
            time.sleep(0.02)
        pytest.fail(f"timed out; files={self.files} gone={self.gone}")

    def wait_file(self, path: Path, timeout: float = 5.0) -> None:
        self.wait(lambda: path in self.files, timeout)

    def wait_gone(self, path: Path, timeout: float = 5.0) -> None:
        self.wait(lambda: path in self.gone, timeout)


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


@pytest.fixture
def watch(rec: Recorder) -> Iterator[Callable[..., Watcher]]:
    """Start a Watcher on specs; stop it at the end and check that no thread of it is left."""
    before = set(threading.enumerate())
    started: list[Watcher] = []

    def start(*specs: WatchSpec) -> Watcher:
        watcher = Watcher(specs, rec.on_file, rec.on_gone, rearm_interval=POLL)
        watcher.start()
        started.append(watcher)
        return watcher

    yield start
    for watcher in started:
        watcher.stop()
    left = [t.name for t in threading.enumerate() if t not in before]  # daemon threads too
    assert not left, f"threads left after stop(): {left}"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "library"
    folder.mkdir()
    return folder


def write(path: Path, data: bytes = b"media") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_native_created_file(watch, rec, root):
    watcher = watch(WatchSpec(root, key=str(root)))
    assert watcher.mode(WatchSpec(root, key=str(root))) == "native"
    media = write(root / "Show S01E01.mkv")
    rec.wait_file(media)
    assert rec.specs == {WatchSpec(root, key=str(root))}


def test_renamed_from_partial_name_reports_only_the_final_name(watch, rec, root):
    watch(WatchSpec(root))
    part = root / "Movie (2020).mkv.part"
    with part.open("wb") as out:
        for _ in range(5):
            out.write(b"\0" * 4096)
            out.flush()
    part.rename(root / "Movie (2020).mkv")
    write(root / "download.tmp").rename(root / "ep42.mp3")
    rec.wait(lambda: {root / "Movie (2020).mkv", root / "ep42.mp3"} <= set(rec.files))
    reported = rec.files + rec.gone
    assert all(p.suffix not in (".part", ".tmp") for p in reported), reported


def test_folder_moved_in_reports_its_files(watch, rec, root, tmp_path):
    outside = tmp_path / "downloads" / "Show Season 1"
    write(outside / "Show S01E01.mkv")
    write(outside / "Disc 2" / "Show S01E02.mkv")
    write(outside / "Disc 2" / "Show.S01E02.sample.mkv")
    write(outside / "show.nfo")
    watch(WatchSpec(root))
    outside.rename(root / "Show Season 1")
    wanted_files = {root / "Show Season 1" / "Show S01E01.mkv", root / "Show Season 1" / "Disc 2" / "Show S01E02.mkv"}
    rec.wait(lambda: wanted_files <= set(rec.files))
    assert set(rec.files) == wanted_files


def test_handler_walks_an_arriving_folder_itself(rec, root):
    """Not every platform or watchdog version simulates events for a moved-in folder's files."""
    spec = WatchSpec(root)
    handler = _Handler(spec, str(root), rec.on_file, rec.on_gone)
    media = write(root / "New" / "Deep" / "film.mkv")
    handler.dispatch(DirMovedEvent(str(root.parent / "elsewhere"), str(root / "New")))
    handler.dispatch(DirCreatedEvent(str(root / "New" / "Deep"), is_synthetic=True))  # covered by the walk above
    assert rec.files == [media]
    assert rec.gone == []  # the source was outside the watch


def test_deleted_and_moved_away_files_are_gone(watch, rec, root, tmp_path):
    watch(WatchSpec(root))
    doomed, leaving = write(root / "a.mkv"), write(root / "b.mp3")
    rec.wait(lambda: {doomed, leaving} <= set(rec.files))
    doomed.unlink()
    leaving.rename(tmp_path / "b.mp3")
    rec.wait(lambda: {doomed, leaving} <= set(rec.gone))


def test_ignored_names_are_never_reported(watch, rec, root):
    watch(WatchSpec(root))
    for name in ["Movie.SAMPLE.mkv", ".hidden.mkv", "Extras/Bonus.mkv", ".cache/x.mkv", "Featurettes/a.mp4", "a.txt"]:
        write(root / name)
    (root / "Movie.mkv.crdownload").write_bytes(b"x")
    sentinel = write(root / "zz last.mkv")
    rec.wait_file(sentinel)
    time.sleep(0.3)  # a grace period for anything out of order, before asserting it never came
    assert rec.files == [sentinel] * len(rec.files)


ODD_NAMES = ["with space.mkv", 'it\'s "quoted".mkv', "new\nline.mkv", "naïve 日本語 ü.flac", "tab\there.mp3"]


def test_odd_names(watch, rec, root):
    watch(WatchSpec(root))
    paths = [write(root / name) for name in ODD_NAMES]
    rec.wait(lambda: set(paths) <= set(rec.files))
    assert sorted(scan(WatchSpec(root))) == sorted(paths)


def test_polling_mode_sees_new_and_deleted_files(watch, rec, root):
    spec = WatchSpec(root, polling=True, poll_interval=POLL)
    watcher = watch(spec)
    assert watcher.mode(spec) == "polling"
    media = write(root / "sub" / "ep1.mp3")
    rec.wait_file(media)
    media.unlink()
    rec.wait_gone(media)


@pytest.mark.parametrize("polling", [False, True], ids=["native", "polling"])
def test_root_deleted_and_recreated_is_watched_again(watch, rec, root, polling):
    watch(WatchSpec(root, polling=polling, poll_interval=POLL))
    rec.wait_file(write(root / "before.mkv"), timeout=3)
    with structlog.testing.capture_logs() as logs:
        shutil.rmtree(root)
        rec.wait(lambda: any(entry["event"] == "watch_missing" for entry in logs))
        root.mkdir()
        found_by_rearm = write(root / "waiting.mkv")
        rec.wait_file(found_by_rearm)
        # Seen only once the new root is armed, so this one can only come from its events.
        rec.wait_file(write(root / "after.mkv"))
    events = [entry["event"] for entry in logs]
    assert events.count("watch_missing") == 1
    assert events.count("watch_rearmed") == 1


def test_root_missing_at_start_is_watched_when_it_appears(watch, rec, tmp_path):
    root = tmp_path / "not yet mounted"
    with structlog.testing.capture_logs() as logs:
        watch(WatchSpec(root))
        root.mkdir()
        rec.wait_file(write(root / "first.mkv"))
        rec.wait_file(write(root / "second.mkv"))
    assert [e["event"] for e in logs if e["event"].startswith("watch_")] == ["watch_missing", "watch_rearmed"]


def test_symlinked_root_gets_native_events(watch, rec, tmp_path, root):
    link = tmp_path / "tv"
    link.symlink_to(root, target_is_directory=True)
    watch(WatchSpec(link))
    rec.wait_file(write(link / "Show S01E03.mkv"))
    write(root / "sub" / "x.mkv")
    rec.wait_file(link / "sub" / "x.mkv")


def test_non_recursive_watch_ignores_subfolders(watch, rec, root):
    spec = WatchSpec(root, recursive=False)
    watch(spec)
    write(root / "Season 1" / "deep.mkv")
    top = write(root / "top.mkv")
    rec.wait_file(top)
    time.sleep(0.3)
    assert set(rec.files) == {top}
    assert list(scan(spec)) == [top]


def test_stop_joins_every_thread_and_can_repeat(rec, root):
    (root / "polled").mkdir()
    before = set(threading.enumerate())
    watcher = Watcher(
        [WatchSpec(root), WatchSpec(root / "polled", polling=True, poll_interval=POLL)],
        rec.on_file,
        rec.on_gone,
        POLL,
    )
    watcher.start()
    # inotify: observer, fd reader, emitter; polling: observer, emitter; the supervisor
    assert len(set(threading.enumerate()) - before) == 6
    watcher.stop()
    watcher.stop()
    assert set(threading.enumerate()) - before == set()


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("Show S01E01.MKV", True),
        ("Season 1/ep.m4b", True),
        ("Season 1/ep.srt", False),
        ("Season 1/ep.mkv.part", False),
        ("Movie-Sample.mkv", False),
        ("EXTRAS/cut.mkv", False),
        ("Season 1/Behind The Scenes/x.mkv", False),
        ("@eaDir/thumb.mkv", False),
        ("$RECYCLE.BIN/old.mkv", False),
        (".Trash-1000/old.mkv", False),
        ("Extras Edition/film.mkv", True),
    ],
)
def test_wanted(relative, expected):
    root = Path("/srv/.media/tv")  # a hidden folder above the root does not matter
    assert wanted(WatchSpec(root), root / relative) is expected


def test_wanted_outside_the_root_or_too_deep():
    root = Path("/srv/tv")
    assert not wanted(WatchSpec(root), Path("/srv/movies/film.mkv"))
    assert not wanted(WatchSpec(root, recursive=False), root / "Season 1" / "ep.mkv")
    assert wanted(WatchSpec(root, extensions=frozenset({".mkv"})), root / "ep.mkv")
    assert not wanted(WatchSpec(root, extensions=frozenset({".mkv"})), root / "ep.mp3")


def test_scan_prunes_ignored_and_symlinked_folders(root, tmp_path):
    elsewhere = write(tmp_path / "elsewhere" / "linked.mkv").parent
    (root / "link").symlink_to(elsewhere, target_is_directory=True)
    (root / "film link.mkv").symlink_to(elsewhere / "linked.mkv")
    keep = [write(root / "a.mkv"), write(root / "Season 2" / "b.mp4")]
    write(root / "trailers" / "t.mkv")
    write(root / "#recycle" / "old.mkv")
    assert sorted(scan(WatchSpec(root))) == sorted([*keep, root / "film link.mkv"])


def test_scan_skips_unreadable_folders_with_a_log_line(root):
    write(root / "open" / "a.mkv")
    write(root / "locked" / "b.mkv")
    (root / "locked").chmod(0)
    code = "import sys; from pathlib import Path; from ingest.daemon.mediafiles import WatchSpec, scan; "
    code += "print([str(p) for p in scan(WatchSpec(Path(sys.argv[1])))])"
    try:
        proc = subprocess.run(
            [*unprivileged.prefix(), sys.executable, "-c", code, str(root)],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        (root / "locked").chmod(0o755)
    assert proc.stdout.splitlines()[-1] == repr([str(root / "open" / "a.mkv")])
    assert "scan_unreadable" in proc.stdout + proc.stderr


def test_callback_errors_do_not_kill_the_observer(rec, root):
    calls: list[Path] = []

    def flaky(path: Path, spec: WatchSpec) -> None:
        calls.append(path)
        if len(calls) == 1:
            raise RuntimeError("queue full")
        rec.on_file(path, spec)

    watcher = Watcher([WatchSpec(root)], flaky, rec.on_gone, POLL)
    watcher.start()
    try:
        write(root / "first.mkv")
        rec.wait_file(write(root / "second.mkv"))
    finally:
        watcher.stop()
    assert os.fspath(calls[0]).endswith("first.mkv")


def test_reading_a_file_raises_no_event(watch, rec, root, monkeypatch):
    """A media server scanning the library opens and reads files: no event may reach Python
    (each one costs the observer thread ~40 us; a library scan means thousands)."""
    kinds: list[str] = []
    original = _Handler.dispatch
    monkeypatch.setattr(
        _Handler, "dispatch", lambda self, event: kinds.append(event.event_type) or original(self, event)
    )
    media = write(root / "Film.mkv")
    watch(WatchSpec(root, key=str(root)))
    marker = write(root / "marker.mkv")
    rec.wait_file(marker)
    kinds.clear()
    for _ in range(20):
        media.read_bytes()
    second = write(root / "after.mkv")  # events arrive in order: once this is seen, the reads were too
    rec.wait_file(second)
    assert set(rec.files) == {marker, second}
    assert "opened" not in kinds and "closed_no_write" not in kinds, kinds
