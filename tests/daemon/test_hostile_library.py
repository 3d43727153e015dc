"""The smaller faults of a hostile library (issue 15, point 9): each is named in the ledger
or refused with its reason, and none costs the other files anything. Real ffmpeg, real
permissions (root's override dropped with setpriv), real daemon processes."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from ingest import pipeline
from ingest.errors import MediaError
from ingest.ledger.sqlite import Ledger
from ingest.media import extract as extract_mod
from ingest.media.probe import probe
from ingest.settings import AudioSettings
from ingest.testing import fresh_host, make_job, settings
from plugins import faster_whisper, srt
from tests.daemon.test_hostile import ingest_cli
from tests.daemon.test_service import (  # noqa: F401 - fixtures
    SETTLE,
    jfk_src,
    library,
    listing,
    long_wav,
    procs,
    start_daemon,
    state,
    status,
    wait_status,
)
from tests.support import unprivileged
from tests.support.daemonproc import wait_until

QUICK_RETRIES = {"INGEST_DAEMON__MAX_ATTEMPTS": "3", "INGEST_DAEMON__BACKOFF_SECONDS": "0.2"}


@pytest.fixture
def streamed_mkv(tmp_path, jfk_src):  # noqa: F811
    """A Matroska file written to a pipe (a recording, a stream grab): no duration in its
    header, so decoding cannot tell how much is missing once it is cut."""
    whole = tmp_path / "whole.mkv"
    with whole.open("wb") as out:
        cmd = ["ffmpeg", "-v", "error", "-i", jfk_src, "-c:a", "libopus", "-f", "matroska", "pipe:"]
        subprocess.run(cmd, stdout=out, check=True)
    return whole


def test_a_cut_off_streamed_mkv_is_refused_not_half_transcribed(tmp_path, streamed_mkv):
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(streamed_mkv.read_bytes()[: streamed_mkv.stat().st_size // 2])
    whole = probe(streamed_mkv)
    assert whole.duration == 0  # the premise: nothing in the header says how long it is
    extract_mod.extract(whole, whole.audio_tracks[0], AudioSettings())  # whole: fine
    media = probe(cut)
    with pytest.raises(MediaError, match="truncated or damaged: it ends early and names no duration") as err:
        extract_mod.extract(media, media.audio_tracks[0], AudioSettings())
    assert err.value.permanent


def test_a_folder_the_user_cannot_enter_is_named(tmp_path, jfk_src):  # noqa: F811
    closed = tmp_path / "closed"
    closed.mkdir()
    shutil.copy(jfk_src, closed / "talk.flac")
    closed.chmod(0o600)  # readable listing, but no x: nothing inside can be opened
    try:
        proc = ingest_cli("process", closed / "talk.flac", unprivileged_child=True)
    finally:
        closed.chmod(0o755)
    assert proc.returncode == 1
    assert f"{closed / 'talk.flac'}: permission denied: cannot enter {closed}" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow  # loads the engine
def test_a_users_sidecar_is_found_before_the_long_decode(tmp_path, jfk_src):  # noqa: F811
    """The language is known only once the engine judged it; the engine asks then, so a
    taken .en.srt ends the job before a single segment is decoded."""
    media = Path(shutil.copy(jfk_src, tmp_path / "talk.flac"))
    host = fresh_host(faster_whisper, srt)
    conf = settings(transcribe={"model": "tiny.en"})
    decoded: list[float] = []
    job = replace(make_job(media, model="tiny.en", formats=("srt",)), progress=lambda d, t: decoded.append(d))
    free = pipeline.run(job, conf, host)
    assert free.status == "done" and decoded  # the control: a free name decodes, with progress
    (tmp_path / "talk.en.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nmine\n")
    decoded.clear()
    taken = pipeline.run(job, conf, host)
    assert taken.status == "failed" and "talk.en.srt already exists" in taken.error
    assert decoded == []
    assert (tmp_path / "talk.en.srt").read_text().endswith("mine\n")


@pytest.mark.slow  # a real daemon process
def test_the_daemon_names_what_it_cannot_use(procs, state, library, jfk_src):  # noqa: F811
    """An unreadable file is in the ledger with its reason, and runs once readable; files that
    cannot be media fail at once instead of three times; an old temp file goes while running."""
    locked = Path(shutil.copy(jfk_src, library / "locked.flac"))
    locked.chmod(0o000)
    empty = library / "empty.mkv"
    empty.write_bytes(b"")
    notes = library / "notes.mkv"
    notes.write_text("not media\n")
    daemon = procs.start(
        "run", "--state-dir", state, "--settle-seconds", str(SETTLE), "--watch", library,
        env=QUICK_RETRIES, name="daemon", prefix=unprivileged.prefix(),
    )  # fmt: skip
    daemon.wait_for("daemon_ready", timeout=60)
    text = wait_status(procs, state, "failed: 3")
    assert f"{locked}: cannot read: Permission denied" in text
    assert f"failed   1 attempts  {empty}: {empty}: empty file (0 bytes)" in text
    assert f"failed   1 attempts  {notes}: {notes}: not a readable media file" in text

    old = library / ".talk.en.srt.abcd1234.ingest-tmp"  # what a kill -9 mid-write leaves
    old.write_text("half")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    fresh = library / ".other.en.srt.abcd1234.ingest-tmp"  # a write going on now
    fresh.write_text("half")
    daemon.wait_for("orphan_removed", file=str(old), timeout=30)
    assert fresh.exists()

    locked.chmod(0o644)
    done = daemon.wait_for("job_done", file=str(locked), timeout=120)
    assert done["outputs"] == [str(library / "locked.en.srt")]
    assert daemon.stop() == 0
    with Ledger(state / "ledger.sqlite3") as ledger:
        assert [ledger.get(p).attempts for p in (empty, notes)] == [1, 1]


@pytest.mark.slow  # a real daemon process
def test_a_file_deleted_while_it_runs_leaves_no_ghost(procs, state, library, long_wav):  # noqa: F811
    media = Path(shutil.copy(long_wav, library / "lecture.wav"))
    daemon = start_daemon(procs, state, library)
    daemon.wait_for("model_loading", file=str(media), timeout=60)
    media.unlink()
    daemon.wait_for("job_source_gone", file=str(media), timeout=120)
    assert listing(library) == []  # no subtitle beside nothing
    text = status(procs, state)
    assert str(media) not in text and text.startswith("pending: 0  running: 0  done: 0  failed: 0  skipped: 0")
    assert daemon.stop() == 0


@pytest.mark.slow  # real daemon processes
def test_a_second_ledger_on_one_folder_is_refused(procs, state, library, tmp_path):  # noqa: F811
    first = start_daemon(procs, state, library)
    other = procs.run("run", "--state-dir", tmp_path / "other-state", "--watch", library, timeout=60)
    assert other.returncode == 2, other.stderr
    assert f"{library} is already watched by an ingest daemon with another ledger" in other.stderr
    assert str(state / "ledger.sqlite3") in other.stderr and f"pid {first.pid}" in other.stderr
    sharing = start_daemon(procs, state, library)  # the same ledger: welcome, they share the work
    assert sharing.stop() == 0 and first.stop() == 0
    after = start_daemon(procs, tmp_path / "other-state", library)  # the lock went with its holders
    assert after.stop() == 0


@pytest.mark.slow  # a real scan process
def test_scan_stops_on_ctrl_c_even_when_started_with_it_ignored(tmp_path, long_wav):  # noqa: F811
    """nohup and some CI runners start children with SIGINT ignored; Ctrl-C must still hand back."""
    media = Path(shutil.copy(long_wav, tmp_path / "lecture.wav"))
    env = {**os.environ, "INGEST_LOG_FORMAT": "json", "INGEST_TRANSCRIBE__MODEL": "tiny.en"}
    env["INGEST_DAEMON__STOP_TIMEOUT"] = "0.5"  # the running job is cancelled, not let finish
    cmd = [sys.executable, "-m", "ingest", "scan", str(tmp_path), "--state-dir", str(tmp_path / "state")]
    log = tmp_path / "scan.log"
    with log.open("wb") as err:
        scan = subprocess.Popen(
            cmd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        )
    try:
        wait_until(lambda: b"model_loading" in log.read_bytes(), 60, "the scan's job to start")
        scan.send_signal(signal.SIGINT)
        assert scan.wait(30) == 130
    finally:
        scan.kill()
    assert not media.with_suffix(".en.srt").exists()
    with Ledger(tmp_path / "state" / "ledger.sqlite3") as ledger:
        assert ledger.get(media).state == "pending"  # handed back, to run next time


def test_status_says_why_a_pending_file_waits_for_a_retry(tmp_path):
    media = tmp_path / "talk.flac"
    media.write_bytes(b"media")
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    with Ledger(state_dir / "ledger.sqlite3") as ledger:
        ledger.look(media)
        ledger.claim("me", 60)
        ledger.finish_failed(media, "me", f"{media}: ffprobe did not finish in 60 s", 3, lambda n: 600.0)
    proc = ingest_cli("status", "--state-dir", state_dir)
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("retrying"))
    assert re.match(r"retrying 1 of 3 attempts, next in (599|600) s  ", line), line
    assert line.endswith(f"{media}: {media}: ffprobe did not finish in 60 s")
