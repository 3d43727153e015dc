"""openai-whisper against faster-whisper, side by side in one run, same clips and weights.

Each measurement is a fresh process (so peak memory is that variant's own): it loads
the model, warms up on the clip once, then times one transcription. Rounds alternate
the variants so machine noise hits all of them; we report medians.

    .venv/bin/python -m bench.engines [--rounds 3] [--models tiny.en,base] [--device cpu|cuda]

On CPU: faster-whisper int8, faster-whisper float32, openai-whisper float32.
With --device cuda: faster-whisper float16, its batched pipeline (float16, batch 8),
openai-whisper float16.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CPU_VARIANTS = ("faster-whisper int8", "faster-whisper float32", "openai-whisper float32")
GPU_VARIANTS = ("faster-whisper float16", "faster-whisper float16 batched", "openai-whisper float16")


def worker(variant: str, model: str, clip: str, device: str) -> None:
    """Run in a child: load, warm up, time one transcription, print JSON."""
    from faster_whisper import decode_audio

    from ingest import log
    from ingest.engines import checkpoints, weights
    from ingest.models import Audio, AudioTrack, Job, JobOptions

    log.setup("warning", "json", sys.stderr)  # stdout carries the result
    audio = Audio(decode_audio(clip, sampling_rate=16000), 16000, AudioTrack(0, "pcm", 1, "mono", None, True))
    engine, compute, *rest = variant.split()
    models_dir = weights.default_models_dir()
    if engine == "openai-whisper":
        from ingest_plugins import openai_whisper as plugin

        checkpoints.resolve(model, models_dir)  # convert outside the timing
    else:
        from ingest_plugins import faster_whisper as plugin
    batch = 8 if rest else 1
    options = JobOptions(
        engine=engine, model=model, device=device, compute_type=compute, batch_size=batch, language="en"
    )
    job = Job(Path(clip), options)
    plugin.ingest_transcribe(job=job, audio=audio)  # warm-up (and model load)
    start = time.perf_counter()
    transcript = plugin.ingest_transcribe(job=job, audio=audio)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "audio": audio.duration, "text": transcript.text}))


def measure(variant: str, model: str, clip: Path, device: str) -> dict:
    cmd = [sys.executable, "-m", "bench.engines", "--worker", variant, model, str(clip), device]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"{variant} on {clip.name} failed ({proc.returncode})")
    return {**json.loads(out), "peak_mb": usage.ru_maxrss / 1024}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--models", default="tiny.en,base")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    from bench.pipeline_overhead import SHARED, lecture

    variants = GPU_VARIANTS if args.device == "cuda" else CPU_VARIANTS
    with tempfile.TemporaryDirectory() as tmp:
        clips = [SHARED / "jfk.flac", lecture(Path(tmp), "lecture-1min", 2)]
        print(f"{args.rounds} rounds, alternating, medians; peak memory is the child process's max RSS\n")
        print("| model | clip | variant | seconds | x real time | vs openai-whisper | peak MB |")
        print("|---|---|---|---|---|---|---|")
        for model in args.models.split(","):
            for clip in clips:
                rows: dict[str, list[dict]] = {v: [] for v in variants}
                for _ in range(args.rounds):
                    for v in variants:
                        rows[v].append(measure(v, model, clip, args.device))
                report(model, clip, rows)


def report(model: str, clip: Path, rows: dict[str, list[dict]]) -> None:
    reference = next(v for v in rows if v.startswith("openai-whisper"))
    ref_seconds = statistics.median(r["seconds"] for r in rows[reference])
    for variant, runs in rows.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        audio = runs[0]["audio"]
        peak = max(r["peak_mb"] for r in runs)
        print(
            f"| {model} | {clip.name} | {variant} | {seconds:.2f} | {audio / seconds:.1f} | "
            f"{ref_seconds / seconds:.2f}x | {peak:.0f} |"
        )


if __name__ == "__main__":
    main()
