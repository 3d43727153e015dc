"""What the pipeline adds to the bare engine, side by side in one run.

For each clip: faster-whisper called directly on the file (its own decoding, same
model folder, same compute type, same decoding options, word timestamps on) against
``ingest``'s pipeline (probe → ffmpeg extract + clean → the same engine → cues →
writers). Both keep the model loaded; runs alternate so drift hits both; medians.

    .venv/bin/python -m bench.pipeline_overhead [--repeats 5] [--model tiny.en]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from ingest_plugins import faster_whisper as fw

from ingest import log, pipeline, plugins, settings
from ingest.engines import device, weights
from ingest.models import Job
from ingest.settings import options

SHARED = ROOT.parent / "shared" / "media"
STAGES = ("probe", "extract", "vad", "transcribe", "filter", "cues", "write")  # ingest's timings, in order
LECTURE = (
    "Good evening and welcome back to the workshop. Tonight we talk about storing media at home. "
    "Most people start with a single disk in a small computer under the television. "
    "That works well until the disk fills up or fails, and then the questions begin. "
    "How many copies do you keep, where do they live, and how do you know they still work? "
    "A good rule is three copies, on two kinds of storage, with one of them somewhere else. "
)


def lecture(folder: Path, name: str, repeat: int) -> Path:
    """A spoken lecture in an MKV with a video stream, as a TV recording would be."""
    wav = folder / f"{name}.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "160", "-w", str(wav), LECTURE * repeat], check=True)
    mkv = folder / f"{name}.mkv"
    video = ["-f", "lavfi", "-i", "testsrc=size=320x180:rate=10"]
    codecs = ["-shortest", "-c:v", "mpeg4", "-c:a", "aac"]
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *video, "-i", str(wav), *codecs, str(mkv)], check=True)
    return mkv


def make_clips(folder: Path) -> list[Path]:
    """The JFK clip (11 s), a one-minute and a five-minute lecture."""
    return [SHARED / "jfk.flac", lecture(folder, "lecture-1min", 2), lecture(folder, "lecture-5min", 10)]


def bare(model: object, path: Path, beam: int) -> float:
    start = time.perf_counter()
    segments, _ = model.transcribe(str(path), beam_size=beam, word_timestamps=True)
    list(segments)
    return time.perf_counter() - start


def ingested(path: Path, conf: settings.Settings, host: plugins.Host, out: Path) -> tuple[float, dict]:
    job = Job(path, options.job_options(conf, path))
    job = replace(job, options=replace(job.options, output_dir=out, overwrite=True, formats=("srt", "json")))
    start = time.perf_counter()
    result = pipeline.run(job, conf, host)
    elapsed = time.perf_counter() - start
    assert result.status == "done", result.error
    return elapsed, result.timings


def media_seconds(clip: Path) -> float:
    cmd = ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(clip)]
    return float(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)


def measure(clip: Path, model: object, conf: settings.Settings, host: plugins.Host, repeats: int) -> str:
    """One table row: medians over alternating runs, and the median of paired ratios."""
    out = clip.parent
    bare(model, clip, 5)  # warm-up both paths
    ingested(clip, conf, host, out)
    b_times, i_times, stages = [], [], []
    for _ in range(repeats):
        b_times.append(bare(model, clip, 5))
        elapsed, timings = ingested(clip, conf, host, out)
        i_times.append(elapsed)
        stages.append(timings)
    seconds = media_seconds(clip)
    b, i = statistics.median(b_times), statistics.median(i_times)
    ratio = statistics.median(x / y for x, y in zip(i_times, b_times, strict=True))
    med = {k: statistics.median(s[k] for s in stages) for k in stages[0]}
    steps = " | ".join(f"{med.get(k, 0.0):.3f}" for k in STAGES)
    speeds = f"{b:.3f} ({seconds / b:.0f}x) | {i:.3f} ({seconds / i:.0f}x)"
    return f"| {clip.name} | {seconds:.1f} | {speeds} | {ratio:.3f} | {steps} |"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--model", default="tiny.en")
    args = ap.parse_args()
    log.setup("warning", "console")
    conf = settings.load(transcribe={"model": args.model, "device": "cpu"})
    host = plugins.load()
    ref = weights.resolve(args.model, conf.models_dir)
    model = fw.load(ref, device.plan("cpu"), "int8", 0)  # the very object the plugin uses
    with tempfile.TemporaryDirectory() as tmp:
        clips = make_clips(Path(tmp))
        print(
            f"model {ref.name} ({ref.source}), CPU int8, beam 5, word timestamps, {args.repeats} runs each, medians\n"
        )
        print(
            "| clip | audio s | bare engine s (x real time) | ingest s (x real time) | ingest/bare | "
            f"{' | '.join(STAGES)} |"
        )
        print("|---" * (5 + len(STAGES)) + "|")
        for clip in clips:
            print(measure(clip, model, conf, host, args.repeats))
    print("\ningest/bare is the median of per-run ratios (runs alternate); stage columns are ingest's, in seconds.")


if __name__ == "__main__":
    main()
