"""Shared fixtures: real media made once per session, the shared speech clips, and a
guard that fails any test leaking a thread, daemon or not."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.support import mediafactory as mf

SHARED_MEDIA = Path(__file__).resolve().parents[1].parent / "shared" / "media"
# A thread told to stop may need a moment to notice; longer than this is a leak.
THREAD_GRACE_SECONDS = 2.0
# Library threads that live as long as the process by design, so the first test to wake
# one only looks like it leaked it. By exact name, each with the reason.
LONG_LIVED_THREADS = {
    # tqdm's TMonitor: one per process, started by the first progress bar ever made
    # (faster-whisper makes a disabled one for every transcription), asleep between
    # 10 s checks and stopped only by tqdm's own atexit handler; nothing to join.
    "tqdm_monitor",
    # pyannote.audio's telemetry module builds an OpenTelemetry BatchSpanProcessor when it is
    # first imported, whose worker thread lives until exit even though ingest turns the
    # metrics off (PYANNOTE_METRICS_ENABLED=0: no span is ever recorded or sent).
    "OtelBatchSpanRecordProcessor",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave the container test out unless the marker expression names it. A ``-m`` on the
    command line replaces addopts' ``-m 'not container'``, so without this the quick loop
    (``-m 'not slow'``) would build the 7.5 GB image."""
    if "container" in (config.getoption("markexpr") or ""):
        return
    dropped = [item for item in items if item.get_closest_marker("container")]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if not item.get_closest_marker("container")]


@pytest.fixture(autouse=True)
def isolated_settings(monkeypatch, tmp_path_factory):
    """Tests never read the developer's own config file or INGEST_ variables."""
    import os

    for name in [n for n in os.environ if n.startswith("INGEST_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.getbasetemp() / "no-config"))


@pytest.fixture(autouse=True)
def no_leaked_threads():
    """Fail the test if a thread it started is still running after it, daemon or not
    (STYLE: every thread is joined; a daemon thread is only one the interpreter will not
    wait for at exit, and still a leak between tests), but for ``LONG_LIVED_THREADS``."""
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.name not in LONG_LIVED_THREADS]
    for thread in leaked:
        thread.join(timeout=THREAD_GRACE_SECONDS / max(len(leaked), 1))
    alive = [f"{t.name}{' (daemon)' if t.daemon else ''}" for t in leaked if t.is_alive()]
    if alive:
        pytest.fail(f"test leaked threads: {', '.join(alive)}")


@pytest.fixture(scope="session")
def shared_media() -> Path:
    """``../shared/media`` beside the repository: real speech clips with references."""
    if not SHARED_MEDIA.is_dir():
        pytest.fail(
            f"shared test media not found at {SHARED_MEDIA}; check out the shared folder "
            "beside the repository (it holds jfk.flac and its reference text)"
        )
    return SHARED_MEDIA


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for all media made this session."""
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def speech_en_wav(media_dir: Path) -> Path:
    """espeak-ng speaking ``mediafactory.ENGLISH``: 22.05 kHz mono WAV, about 4 s."""
    return mf.speech_wav(media_dir / "speech_en.wav", mf.ENGLISH, voice="en")


@pytest.fixture(scope="session")
def speech_de_wav(media_dir: Path) -> Path:
    """espeak-ng speaking ``mediafactory.GERMAN``: 22.05 kHz mono WAV, about 4 s."""
    return mf.speech_wav(media_dir / "speech_de.wav", mf.GERMAN, voice="de", speed=130)


@pytest.fixture(scope="session")
def two_tracks(speech_en_wav: Path, speech_de_wav: Path) -> list[mf.Track]:
    return [mf.Track(speech_en_wav, "eng", "English"), mf.Track(speech_de_wav, "ger", "Deutsch")]


@pytest.fixture(scope="session")
def two_track_mkv(media_dir: Path, two_tracks: list[mf.Track]) -> Path:
    """Video (stream 0), English AAC (1), German AAC (2, the default track)."""
    return mf.mux(media_dir / "two_track.mkv", two_tracks, default=1, title="Two tracks")


@pytest.fixture(scope="session")
def two_track_mp4(media_dir: Path, two_tracks: list[mf.Track]) -> Path:
    """Video (stream 0), English AAC (1, the default track), German AAC (2)."""
    return mf.mux(media_dir / "two_track.mp4", two_tracks, default=0, title="Two tracks")


@pytest.fixture(scope="session")
def no_default_mkv(media_dir: Path, two_tracks: list[mf.Track]) -> Path:
    """Like ``two_track_mkv`` but no track has the default flag (MP4 cannot express this)."""
    return mf.mux(media_dir / "no_default.mkv", two_tracks, default=None)


@pytest.fixture(scope="session")
def surround_mkv(media_dir: Path, speech_en_wav: Path) -> Path:
    """Video plus a FLAC 5.1 track: English speech only in FC, loud noise and tones elsewhere."""
    return mf.surround_51(media_dir / "surround.mkv", speech_en_wav)


@pytest.fixture(scope="session")
def video_only_mkv(media_dir: Path) -> Path:
    """Two seconds of video and no audio stream."""
    return mf.video_without_audio(media_dir / "video_only.mkv")


@pytest.fixture(scope="session")
def zero_byte_mkv(media_dir: Path) -> Path:
    return mf.zero_byte(media_dir / "empty.mkv")


@pytest.fixture(scope="session")
def text_mkv(media_dir: Path) -> Path:
    return mf.text_as_mkv(media_dir / "notes.mkv")


@pytest.fixture(scope="session")
def truncated_mkv(media_dir: Path, two_track_mkv: Path) -> Path:
    """The first half of ``two_track_mkv``: the header still claims the full length."""
    return mf.truncated(two_track_mkv, media_dir / "truncated.mkv", 0.5)


@pytest.fixture(scope="session")
def truncated_mp4(media_dir: Path, two_track_mp4: Path) -> Path:
    """The first 90% of ``two_track_mp4``: the index (moov, written last) is gone."""
    return mf.truncated(two_track_mp4, media_dir / "truncated.mp4", 0.9)


@pytest.fixture(scope="session")
def truncated_faststart_mp4(media_dir: Path, two_tracks: list[mf.Track]) -> Path:
    """The first half of a streaming-ready MP4: the index survives, half the samples do not."""
    whole = mf.mux(media_dir / "faststart.mp4", two_tracks, faststart=True)
    return mf.truncated(whole, media_dir / "truncated_faststart.mp4", 0.5)


@pytest.fixture
def http_recorder():
    """A real HTTP server on loopback recording every request (stand-in for Plex, Jellyfin, apprise targets)."""
    from tests.support import httprecorder

    with httprecorder.serving() as recorder:
        yield recorder
