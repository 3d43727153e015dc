"""A hostile library (issue 15): files no tool should leave in a media folder, and the
daemon going on with the good ones. Real daemon processes, real FIFOs, real folders."""

from __future__ import annotations

import os
import shutil
import threading
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
