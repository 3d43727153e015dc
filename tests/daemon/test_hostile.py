"""A hostile library (issue 15): files no tool should leave in a media folder, and the
daemon going on with the good ones. Real daemon processes, real FIFOs, real folders."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ingest.errors import MediaError, NotRegularFile
from ingest.ledger.fingerprint import fingerprint
from ingest.media.probe import probe
from tests.daemon.test_service import (  # noqa: F401 - fixtures
    jfk_src,
    library,
    procs,
    start_daemon,
    state,
)
from tests.support import unprivileged


def finishes(fn, seconds: float = 10.0):
    """``fn()``'s outcome, failing (not hanging) when it blocks longer than ``seconds``."""
    box: dict = {}

    def call():
        try:
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=call, daemon=True)  # a hung open() must not hang the suite
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{fn} blocked for over {seconds} s"
    if "error" in box:
        raise box["error"]
    return box.get("value")


def test_a_fifo_is_never_opened_for_reading(tmp_path):
    fifo = tmp_path / "stream.mkv"
    os.mkfifo(fifo)
    with pytest.raises(NotRegularFile, match="not a regular file \\(a named pipe\\)"):
        finishes(lambda: fingerprint(fifo))
    with pytest.raises(MediaError, match=f"{fifo}: not a regular file \\(a named pipe\\)"):
        finishes(lambda: probe(fifo))


@pytest.mark.slow  # a real daemon process
def test_fifos_in_a_watched_folder_do_not_stop_the_good_files(procs, state, library, jfk_src):  # noqa: F811
    """One FIFO there at start (reconcile), one made while watching (inotify), then a good
    file: it gets its subtitle, the FIFOs are named in the log, and SIGTERM still exits."""
    os.mkfifo(library / "before.mkv")
    daemon = start_daemon(procs, state, library)
    os.mkfifo(library / "during.mkv")
    daemon.wait_for("not_media", path=str(library / "during.mkv"), timeout=30)
    media = Path(shutil.copy(jfk_src, library / "good.flac"))
    done = daemon.wait_for("job_done", file=str(media), timeout=120)
    assert done["outputs"] == [str(library / "good.en.srt")]
    assert not daemon.events("daemon_stage_stuck")
    assert daemon.stop() == 0
    assert not daemon.events("job_started", file=str(library / "during.mkv"))
    assert not daemon.events("job_started", file=str(library / "before.mkv"))


def ingest_cli(*args: str | Path, unprivileged_child: bool = False) -> subprocess.CompletedProcess:
    """``python -m ingest ARGS`` (without root's power over permissions when asked)."""
    cmd = [*(unprivileged.prefix() if unprivileged_child else []), sys.executable, "-m", "ingest", *map(str, args)]
    env = {**os.environ, "INGEST_LOG_FORMAT": "json", "INGEST_TRANSCRIBE__MODEL": "tiny.en"}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)


@pytest.mark.parametrize("layout", ["read-only folder", "under a read-only parent"])
def test_a_state_folder_ingest_cannot_write_is_refused_at_start(tmp_path, layout):
    """It used to report ready, then log 'attempt to write a readonly database' every 2 s."""
    lib = tmp_path / "lib"
    lib.mkdir()
    parent = tmp_path / "locked"
    parent.mkdir()
    state_dir = parent / "state_dir"
    if layout == "read-only folder":
        state_dir.mkdir()
        ingest_cli("scan", "--dry-run", "--state-dir", state_dir, lib)  # a ledger exists, as after an earlier run
        assert (state_dir / "ledger.sqlite3").is_file()
        state_dir.chmod(0o555)
    parent.chmod(0o555)
    try:
        proc = ingest_cli("run", "--state-dir", state_dir, "--watch", lib, unprivileged_child=True)
    finally:
        parent.chmod(0o755)
        if state_dir.exists():
            state_dir.chmod(0o755)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "daemon_ready" not in proc.stderr
    assert f"state folder {state_dir}: cannot write the ledger there" in proc.stderr
    assert "INGEST_DAEMON__STATE_DIR" in proc.stderr and "Permission denied" in proc.stderr


@pytest.mark.slow  # five ingest processes
def test_a_corrupt_ledger_is_named_with_what_to_do(tmp_path):
    state_dir = tmp_path / "state_dir"
    state_dir.mkdir()
    ledger = state_dir / "ledger.sqlite3"
    ledger.write_bytes(os.urandom(4096))
    lib = tmp_path / "lib"
    lib.mkdir()
    for args in (("run", "--watch", lib), ("status",), ("scan", lib)):
        proc = ingest_cli(*args, "--state-dir", state_dir)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "Traceback" not in proc.stderr
        assert f"the ledger {ledger} is damaged (file is not a database)" in proc.stderr
        assert f"mv '{ledger}' '{ledger}.damaged'" in proc.stderr
    env_doctor = subprocess.run(
        [sys.executable, "-m", "ingest", "doctor"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "INGEST_DAEMON__STATE_DIR": str(state_dir)},
    )
    assert env_doctor.returncode == 1
    assert f"[FAIL] ledger: the ledger {ledger} is damaged" in env_doctor.stdout
    ledger.rename(ledger.with_name("ledger.sqlite3.damaged"))  # as the message says: then it starts
    assert ingest_cli("scan", "--dry-run", "--state-dir", state_dir, lib).returncode == 0  # a fresh ledger
    assert ingest_cli("status", "--state-dir", state_dir).returncode == 0


def test_a_dead_owners_job_is_taken_back_while_the_daemon_runs(tmp_path):
    """Owned by a worker of another hostname (a container that restarted) whose lease ran
    out after our start-up: the lease keeper takes it back, not only the next start."""
    from ingest.daemon.worker import Shared, keep_leases
    from ingest.ledger.fingerprint import fingerprint as fp
    from ingest.ledger.sqlite import Ledger
    from ingest.settings.sections import DaemonSettings
    from ingest.testing import fresh_host, settings

    media = tmp_path / "ep.wav"
    media.write_bytes(b"RIFF" + bytes(100))
    conf = settings(daemon=DaemonSettings(state_dir=tmp_path, lease_seconds=6).model_dump())
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        ledger.observe(media, fp(media))
        assert ledger.claim("old-container:4242:w0", 1.0) is not None
        shared = Shared(conf, fresh_host(), ledger)
        keeper = threading.Thread(target=keep_leases, args=(shared,))
        keeper.start()
        try:
            deadline = time.monotonic() + 10
            while ledger.get(media).state == "running" and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            shared.stopping.set()
            keeper.join()
        assert ledger.get(media).state == "pending"
        assert shared.wake.is_set()


def test_retry_takes_back_a_running_job_whose_lease_expired(tmp_path):
    from ingest.ledger.fingerprint import fingerprint as fp
    from ingest.ledger.sqlite import Ledger

    media = tmp_path / "ep.wav"
    media.write_bytes(b"RIFF" + bytes(100))
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        ledger.observe(media, fp(media))
        ledger.claim("alive:1:w0", 600)
        assert ledger.retry(media) == 0  # a live lease: its owner is working on it
    with Ledger(tmp_path / "ledger.sqlite3", clock=lambda: time.time() + 601) as later:
        assert later.retry(media) == 1
        assert later.get(media).state == "pending"


@pytest.mark.parametrize(
    "model, says",
    [
        ("large-v3", "'large-v3': not available offline, and faster-whisper could not download it"),
        ("tiny.en.typo", "'tiny.en.typo': faster-whisper has no model of that name, and it is not a folder"),
    ],
)
def test_a_model_that_is_not_there_is_refused_before_any_file(tmp_path, jfk_src, model, says):  # noqa: F811
    """It used to fail every file (and burn the daemon's retries) with LocalEntryNotFoundError."""
    lib = tmp_path / "library"
    lib.mkdir()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "INGEST_TRANSCRIBE__MODEL": model}  # no hub, whatever the machine
    runs = [
        ["process", jfk_src, "--output-dir", tmp_path],
        ["run", "--watch", lib, "--state-dir", tmp_path / "state"],
    ]
    for args in runs:
        proc = subprocess.run(
            [sys.executable, "-m", "ingest", *map(str, args)], capture_output=True, text=True, timeout=120, env=env
        )
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr and "daemon_ready" not in proc.stderr
        assert f"transcribe.model (or INGEST_TRANSCRIBE__MODEL, --model) = {says}" in proc.stderr
        assert "tiny.en" in proc.stderr.split("offline here:" if "typo" in model else "Offline here:")[1]
    assert not list(tmp_path.glob("*.srt"))


def test_long_names_are_written_whenever_the_sidecar_name_fits(tmp_path, jfk_src):  # noqa: F811
    """A media name of 232-251 bytes was transcribed in full and then failed to write: the
    temporary name is 21 bytes longer than the sidecar's. A name that cannot fit at all is
    refused before any transcription."""
    fits = tmp_path / ("a" * 240 + ".flac")  # its sidecar: 240 + 7 = 247 bytes, the temp name 268
    too_long = tmp_path / ("b" * 249 + ".flac")  # its sidecar would be 256 bytes
    for path in (fits, too_long):
        shutil.copy(jfk_src, path)
    env = {**os.environ, "INGEST_LOG_FORMAT": "json"}
    proc = subprocess.run(
        [sys.executable, "-m", "ingest", "process", str(fits), str(too_long), "--model", "tiny.en", "--language", "en"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 1, proc.stderr
    assert (tmp_path / ("a" * 240 + ".en.srt")).is_file()
    assert "is 256 bytes, over this filesystem's limit of 255: shorten the media's name" in proc.stderr
    failed = [json.loads(line) for line in proc.stderr.splitlines() if '"job_failed"' in line]
    assert len(failed) == 1 and "transcribe" not in failed[0]["timings"]  # refused before the engine ran
    assert not list(tmp_path.glob(".*.ingest-tmp"))


def test_status_into_a_pipe_closed_early_is_quiet(tmp_path):
    """``ingest status | head -1`` printed a BrokenPipeError traceback."""
    state_dir = tmp_path / "state"
    lib = tmp_path / "library"
    lib.mkdir()
    for n in range(3000):  # enough output to overrun the pipe once head has gone
        (lib / f"episode {n:04}.wav").write_bytes(b"x")
    script = (
        f"{sys.executable} -m ingest scan --dry-run --state-dir {state_dir} {lib} | head -1; "
        f"{sys.executable} -m ingest status --state-dir {state_dir} | head -1"
    )
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", script], capture_output=True, text=True, timeout=120)
    assert "BrokenPipeError" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stdout.startswith(str(lib / "episode 0000.wav"))
