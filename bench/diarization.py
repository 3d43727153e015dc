"""Diarization: its real-time factor, its share of a whole job, and the DER of ``builtin``.

On pyannote.audio's own 30 s two-speaker ``sample.wav`` (it ships with a reference RTTM):
the full pipeline with ``diarize`` on, repeated; stage timings from the job; DER with
pyannote.metrics at a 0.25 s collar, without and with a two-speaker hint.

    .venv/bin/python -m bench.diarization [--repeats 3] [--model base]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from dataclasses import replace
from importlib.resources import files
from pathlib import Path

from ingest import log, pipeline, plugins, settings
from ingest.models import Job
from ingest.settings.options import job_options


def sample() -> tuple[Path, Path]:
    folder = Path(str(files("pyannote.audio"))) / "sample"
    return folder / "sample.wav", folder / "sample.rttm"


def der(result: pipeline.JobResult, rttm: Path) -> float:
    from pyannote.core import Annotation, Segment, Timeline
    from pyannote.database.util import load_rttm
    from pyannote.metrics.diarization import DiarizationErrorRate

    reference = next(iter(load_rttm(str(rttm)).values()))
    hypothesis = Annotation()
    for seg in result.transcript.segments:
        hypothesis[Segment(seg.start, seg.end)] = seg.speaker
    uem = Timeline([Segment(0, result.duration)])
    return float(DiarizationErrorRate(collar=0.25)(reference, hypothesis, uem=uem))


def run(media: Path, out: Path, conf: settings.Settings, host: plugins.Host, **options) -> pipeline.JobResult:
    job = Job(media, job_options(conf, media))
    opts = replace(job.options, output_dir=out, overwrite=True, formats=("json",), diarize=True, **options)
    result = pipeline.run(replace(job, options=opts), conf, host)
    assert result.status == "done", result.error
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--model", default="base")
    args = ap.parse_args()
    log.setup("warning", "console")
    conf = settings.load(transcribe={"model": args.model, "device": "cpu", "language": "en"})
    host = plugins.load()
    wav, rttm = sample()
    with tempfile.TemporaryDirectory() as tmp, host.serving(conf):
        run(wav, Path(tmp), conf, host)  # warm-up: models load
        runs = [run(wav, Path(tmp), conf, host) for _ in range(args.repeats)]
        hinted = run(wav, Path(tmp), conf, host, num_speakers=2)
    seconds = runs[0].duration
    diarize = statistics.median(r.timings["diarize"] for r in runs)
    total = statistics.median(sum(r.timings.values()) for r in runs)
    print(f"pyannote sample.wav ({seconds:.1f} s), model {args.model} CPU int8, {args.repeats} runs, medians\n")
    print("| diarize s | RTF (diarize s / audio s) | whole job s | share of the job | DER | DER (2 speakers hinted) |")
    print("|---|---|---|---|---|---|")
    print(
        f"| {diarize:.2f} | {diarize / seconds:.3f} | {total:.2f} | {diarize / total:.0%} | "
        f"{der(runs[0], rttm):.3f} | {der(hinted, rttm):.3f} |"
    )
    print("\nDER here is measured on the transcript's speaker segments (what users get), collar 0.25 s.")


if __name__ == "__main__":
    main()
