"""The HTTP service under load (issue 17), every figure from one real service in one run.

The service is ``ingest run`` with ``[server] enabled`` (``bench.server_service``): tiny.en
on the CPU, one worker, uvicorn on a free loopback port, a fresh state folder and one
watched folder, empty at first. Every request sends media no earlier request sent
(``Clips.copy``: jfk.flac or a spoken minute at a slightly different volume), so no result
is served from an earlier job unless the measure is about exactly that.

1. ``GET /status`` from ``--clients`` keep-alive clients, back to back for ``--seconds``:
   idle, then while a one-minute ``/asr`` job runs (the window ends early if the job does).
2. Memory of the server process during a ``--upload-mb`` upload to ``/detect-language``,
   streamed from a generator (11 s of speech, then quiet noise): RSS before, the sampled
   peak until the last byte was sent, the kernel's peak (``VmHWM``, reset before) over the
   whole request (which then decodes and transcribes only the first 30 s), the spool after.
3. ``--burst`` identical ``/asr`` requests at once against one alone: wall time, ledger
   rows and job runs (``job_started`` in the service's log).
4. ``--backfill`` copies of jfk.flac moved into the watched folder at once, then one
   ``/asr`` request at a time while they run: its answer time and queue wait against the
   lone requests of 3, and how many backfill jobs ended between its queueing and its own end
   (the goal: the one running when it came, no more).

    .venv/bin/python -m bench.server [--rounds 3] [--seconds 4] [--clients 2] [--upload-mb 2048] [--burst 8]
        [--backfill 100]
"""

from __future__ import annotations

import argparse
import functools
import math
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.server_load import RssSampler, burst, hammer, post_asr, reset_peak, rss, stream_upload
from bench.server_report import report
from bench.server_service import Service

ROOT = Path(__file__).resolve().parents[1]
JFK = ROOT.parent / "shared" / "media" / "jfk.flac"
TICK = 0.02


class Clips:
    """Media made on demand, each copy unlike any other (so never one shared job)."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.count = folder, 0
        folder.mkdir(parents=True, exist_ok=True)
        self.jfk_pcm = _pcm(JFK)

    @functools.cached_property
    def lecture(self) -> Path:
        """About 54 s of one voice (espeak-ng)."""
        from bench.pipeline_overhead import LECTURE

        path = self.folder / "lecture.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "160", "-w", str(path), LECTURE * 2], check=True)
        return path

    def copy(self, source: Path, folder: Path | None = None) -> Path:
        self.count += 1
        out = (folder or self.folder) / f"{source.stem}-{self.count:03d}.flac"
        out.parent.mkdir(parents=True, exist_ok=True)
        gain = f"volume={1 - 0.004 * self.count:.3f}"
        command = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(source), "-af", gain, str(out)]
        subprocess.run(command, check=True)
        return out


def _pcm(media: Path) -> bytes:
    command = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(media), "-f", "s16le", "-ac", "1", "-ar", "16000", "-"]
    return subprocess.run(command, capture_output=True, check=True).stdout


def _paths(svc: Service) -> set[str]:
    return {r["path"] for r in svc.rows()}


def _row(svc: Service, before: set[str], state: str, timeout: float = 120.0) -> dict[str, Any]:
    """The first ledger row not in ``before`` once it is in ``state``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for row in svc.rows():
            if row["path"] not in before and row["state"] == state:
                return row
        time.sleep(TICK)
    raise TimeoutError(f"no new job {state} in {timeout:g} s")


def status_rounds(svc: Service, clips: Clips, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Measure 1: ``/status`` idle, then while a transcription runs, ``--rounds`` times."""
    rounds = []
    for _ in range(args.rounds):
        idle = hammer(svc.url, args.seconds, args.clients)
        rounds.append({"idle": idle, **_status_during_job(svc, clips.copy(clips.lecture), args)})
    return rounds


def _status_during_job(svc: Service, media: Path, args: argparse.Namespace) -> dict[str, Any]:
    before, answers = _paths(svc), []
    post = threading.Thread(target=lambda: answers.append(post_asr(svc.url, media)))
    post.start()
    path = _row(svc, before, "running")["path"]
    ended = threading.Event()

    def watch() -> None:
        while not ended.is_set():
            if next(r["state"] for r in svc.rows() if r["path"] == path) != "running":
                ended.set()
            time.sleep(TICK)

    watcher = threading.Thread(target=watch)
    watcher.start()
    busy = hammer(svc.url, args.seconds, args.clients, stop=ended)
    covered = not ended.is_set()
    ended.set()
    watcher.join()
    post.join()
    if answers[0][0] != 200:
        raise RuntimeError(f"/asr answered {answers[0][0]}: {answers[0][2][:200]}")
    return {"busy": busy, "covered": covered, "job_seconds": answers[0][1]}


def first_detect(svc: Service, clips: Clips) -> dict[str, float]:
    """The first ``/detect-language`` of a small clip: what its first use costs the server."""
    time.sleep(1.0)
    before = rss(svc.pid)
    status, seconds, body = post_asr(svc.url, clips.copy(JFK), route="/detect-language")
    if status != 200:
        raise RuntimeError(f"/detect-language answered {status}: {body[:200]}")
    time.sleep(1.0)
    return {"grew": rss(svc.pid) - before, "seconds": seconds}


def upload_memory(svc: Service, clips: Clips, megabytes: int) -> dict[str, Any]:
    """Measure 2: the server's memory while a ``megabytes`` upload streams in."""
    first = first_detect(svc, clips)
    time.sleep(1.0)  # let the last job's buffers go
    before = rss(svc.pid)
    exact = reset_peak(svc.pid)
    with RssSampler(svc.pid) as sampler:
        begun = time.perf_counter()
        status, sent, answered, body = stream_upload(svc.url, "/detect-language", megabytes * 2**20, clips.jfk_pcm)
    spool = svc.spool()
    return {
        "megabytes": megabytes,
        "first": first,
        "before": before,
        "peak_upload": sampler.peak(until=sent + 0.1),
        "peak_request": rss(svc.pid, "VmHWM") if exact else sampler.peak(),
        "exact": exact,
        "upload_seconds": sent - begun,
        "answer_seconds": answered - sent,
        "status": status,
        "body": body[:120],
        "temps": [p.name for p in spool if p.name.startswith(".")],
        "blobs": [(p.name, p.stat().st_size) for p in spool if not p.name.startswith(".")],
    }


def identical_rounds(svc: Service, clips: Clips, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Measure 3: one request alone, and ``--burst`` identical ones at once (alternating order)."""
    rounds = []
    for n in range(args.rounds):
        alone_first = n % 2 == 0
        one = _alone(svc, clips.copy(JFK)) if alone_first else None
        before = _paths(svc)
        wall, answers = burst(svc.url, clips.copy(JFK), args.burst)
        new = _paths(svc) - before
        bodies = {a[2] for a in answers}
        statuses = [a[0] for a in answers]
        one = one or _alone(svc, clips.copy(JFK))
        rounds.append(
            {"alone": one, "wall": wall, "rows": len(new), "runs": len(svc.started(new))}
            | {"ok": statuses.count(200), "same": len(bodies) == 1}
        )
    return rounds


def _alone(svc: Service, media: Path) -> dict[str, float]:
    """One ``/asr`` request, timed from the service's log: sent → ``request_queued`` (the
    upload and its probe), → ``job_started`` (a worker claimed it), → its pipeline began
    (``job_done`` less the job's own seconds: a claimed job may wait for the worker's
    runner behind jobs it prepared earlier) and the answer."""
    before = _paths(svc)
    sent = time.time()
    status, seconds, body = post_asr(svc.url, media)
    if status != 200:
        raise RuntimeError(f"/asr answered {status}: {body[:200]}")
    (path,) = _paths(svc) - before
    queued = svc.wait_for("request_queued", timeout=10, job=Path(path).parent.name)["t"]
    claimed = svc.started({path})[0]["t"]
    done = svc.wait_for("job_done", timeout=10, file=path)
    began = done["t"] - done["seconds"]
    times = {"seconds": seconds, "queued": queued - sent, "claimed": claimed - queued, "wait": began - queued}
    return times | {"run": done["seconds"], "at": queued, "done": done["t"]}


def backfill_rounds(svc: Service, clips: Clips, watch: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Measure 4: requests while ``--backfill`` watched files wait for the worker."""
    staged = [clips.copy(JFK, clips.folder / "staged") for _ in range(args.backfill)]
    for path in staged:  # one rename each: the files arrive whole, at once
        path.rename(watch / path.name)
    backfill = {str(watch / p.name) for p in staged}
    deadline = time.monotonic() + 120
    while sum(1 for r in svc.rows() if r["path"] in backfill) < len(backfill) or not svc.started(backfill):
        if time.monotonic() > deadline:
            raise TimeoutError("the backfill was not queued within 120 s")
        time.sleep(TICK)
    rounds = []
    for _ in range(args.rounds):
        pending = sum(1 for r in svc.rows() if r["path"] in backfill and r["state"] == "pending")
        one = _alone(svc, clips.copy(JFK))
        rounds.append({**one, "pending": pending, "ahead": len(_done(svc, backfill, one["at"], one["done"]))})
    return {"rounds": rounds, "job": statistics.median(e["seconds"] for e in _done(svc, backfill, 0, math.inf))}


def _done(svc: Service, paths: set[str], after: float, before: float) -> list[dict[str, Any]]:
    """The ``job_done`` events of ``paths`` logged between ``after`` and ``before``."""
    svc.log.poll()
    ended = [e for e in svc.log.events if e.get("event") == "job_done" and e.get("file") in paths]
    return [e for e in ended if after <= e["t"] <= before]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=4.0, help="length of each /status window")
    ap.add_argument("--clients", type=int, default=2, help="keep-alive /status clients at once")
    ap.add_argument("--upload-mb", type=int, default=2048)
    ap.add_argument("--burst", type=int, default=8, help="identical /asr requests at once")
    ap.add_argument("--backfill", type=int, default=100, help="watched files queued before the requests")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        clips = Clips(work / "clips")
        watch = work / "library"
        watch.mkdir()
        with Service(work / "service", watch=watch, max_upload_mb=args.upload_mb + 64) as svc:
            _alone(svc, clips.copy(JFK))  # the model loads on the first job
            results = {"status": status_rounds(svc, clips, args)}
            results["upload"] = upload_memory(svc, clips, args.upload_mb)
            results["identical"] = identical_rounds(svc, clips, args)
            results["backfill"] = backfill_rounds(svc, clips, watch, args)
    print("\n".join(report(results, args)))


if __name__ == "__main__":
    main()
