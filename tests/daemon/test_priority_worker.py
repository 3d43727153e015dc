"""A request behind a backfill waits for the running job only: the worker decodes one job
ahead, and hands that one back when a job of higher priority comes in meanwhile. Real
daemon, real ledger, tiny.en on the CPU."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from ingest import plugins
from ingest.daemon.service import Daemon
from ingest.ledger.fingerprint import fingerprint
from ingest.server.queue import INTERACTIVE
from tests.support import mediafactory as mf
from tests.support.httpservice import test_settings as service_settings

pytestmark = pytest.mark.slow  # several real transcriptions
BACKFILL = 6


def until(check, timeout: float = 180.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_a_request_waits_only_for_the_running_job_not_the_decoded_ones(tmp_path: Path, shared_media: Path):
    library = tmp_path / "library"
    library.mkdir()
    jfk = shared_media / "jfk.flac"
    backfill = [library / f"ep{n}.flac" for n in range(BACKFILL)]
    for n, path in enumerate(backfill):  # different content: nothing is the same job as another
        mf.ffmpeg("-i", jfk, "-af", f"volume={1 - n / 50:.2f}", path)
    request = tmp_path / "request" / "media.flac"
    request.parent.mkdir()
    mf.ffmpeg("-i", jfk, "-af", "volume=0.7", request)
    conf = service_settings(tmp_path / "state")
    host = plugins.load(conf.disabled_plugins, conf.plugins)
    with host.serving(conf, command="serve"):
        daemon = Daemon(conf, host)
        daemon.start()
        ledger = daemon.shared.ledger
        try:
            for path in backfill:
                ledger.observe(path, fingerprint(path))
            daemon.shared.wake.set()
            # one running, the next decoded and waiting: then the request comes in
            until(lambda: ledger.counts().get("running", 0) >= 2)
            submitted = time.time()
            options = {"formats": ["json"], "output_dir": str(request.parent / "out"), "overwrite": True}
            ledger.submit(request, fingerprint(request), INTERACTIVE, json.dumps(options))
            daemon.shared.wake.set()
            done = until(lambda: (e := ledger.get(request)) is not None and e.state == "done" and e)
            before = [p for p in backfill if (e := ledger.get(p)) and e.state == "done" and submitted < e.updated_at]
            before = [p for p in before if ledger.get(p).updated_at < done.updated_at]  # type: ignore[union-attr]
            until(lambda: ledger.counts().get("done", 0) == BACKFILL + 1)  # the handed-back one ran after
        finally:
            daemon.stop()
    assert len(before) <= 1, f"the request waited for {len(before)} backfill jobs: {before}"
