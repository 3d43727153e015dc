"""What the pipeline adds to the bare engine, side by side in one run.

For each clip: faster-whisper called directly on the file (its own decoding, same
model folder, same compute type, same decoding options, word timestamps on) against
``ingest``'s pipeline (probe → ffmpeg extract + clean → the same engine → cues →
writers). Both keep the model loaded; runs alternate so drift hits both; medians.

    .venv/bin/python bench/pipeline_overhead.py [--repeats 5] [--model tiny.en]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest_plugins import faster_whisper as fw

from ingest import log, pipeline, plugins, settings, weights
from ingest.models import Job

SHARED = ROOT.parent / "shared" / "media"
LECTURE = (
    "Good evening and welcome back to the workshop. Tonight we talk about storing media at home. "
    "Most people start with a single disk in a small computer under the television. "
    "That works well until the disk fills up or fails, and then the questions begin. "
    "How many copies do you keep, where do they live, and how do you know they still work? "
    "A good rule is three copies, on two kinds of storage, with one of them somewhere else. "
)


def make_clips(folder: Path) -> list[Path]:
    """The JFK clip and a one-minute spoken lecture in an MKV with video."""
    wav = folder / "lecture.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "160", "-w", str(wav), LECTURE * 2], check=True)
    mkv = folder / "lecture.mkv"
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x180:rate=10",
            "-i",
            str(wav),
            "-shortest",
            "-c:v",
            "mpeg4",
            "-c:a",
            "aac",
            str(mkv),
        ],
        check=True,
    )
    return [SHARED / "jfk.flac", mkv]


def bare(model: object, path: Path, beam: int) -> float:
    start = time.perf_counter()
    segments, _ = model.transcribe(str(path), beam_size=beam, word_timestamps=True)
    list(segments)
    return time.perf_counter() - start


def ingested(path: Path, conf: settings.Settings, host: plugins.Host, out: Path) -> tuple[float, dict]:
    job = Job(path, settings.job_options(conf, path))
    job = replace(job, options=replace(job.options, output_dir=out, overwrite=True, formats=("srt", "json")))
    start = time.perf_counter()
    result = pipeline.run(job, conf, host)
    elapsed = time.perf_counter() - start
    assert result.status == "done", result.error
    return elapsed, result.timings


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--model", default="tiny.en")
    args = ap.parse_args()
    log.setup("warning", "console")
    conf = settings.load(transcribe={"model": args.model, "device": "cpu"})
    host = plugins.load()
    ref = weights.resolve(args.model, conf.models_dir)
    model = fw.load(ref, "cpu", 0, "int8", 0)  # the very object the plugin uses
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clips = make_clips(folder)
        print(f"model {ref.name} ({ref.source}), CPU int8, beam 5, word timestamps, {args.repeats} repeats, medians\n")
        print("| clip | audio s | bare engine s | ingest s | ratio | probe | extract | transcribe | cues | write |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for clip in clips:
            duration = float(
                subprocess.run(
                    ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(clip)],
                    capture_output=True,
                    text=True,
                ).stdout
            )
            bare(model, clip, 5)  # warm-up both paths
            ingested(clip, conf, host, folder)
            b_times, i_times, stages = [], [], []
            for _ in range(args.repeats):
                b_times.append(bare(model, clip, 5))
                elapsed, timings = ingested(clip, conf, host, folder)
                i_times.append(elapsed)
                stages.append(timings)
            b, i = statistics.median(b_times), statistics.median(i_times)
            med = {k: statistics.median(s[k] for s in stages) for k in stages[0]}
            print(
                f"| {clip.name} | {duration:.1f} | {b:.3f} | {i:.3f} | {i / b:.3f} | "
                + " | ".join(f"{med[k]:.3f}" for k in ("probe", "extract", "transcribe", "cues", "write"))
                + " |"
            )
        print("\nreal-time factors are seconds of work per second of audio; ratio = ingest / bare (target ≤ 1.05)")


if __name__ == "__main__":
    main()
