"""Run to run (issue 16, point 2): hard files through ``ingest process`` several times each,
interleaved, in one process (one model cache, as in the daemon); are the outputs the same bytes?

The files are bench/quality variants whose decoding falls back to sampling (sung vowels,
reversed and foreign-sounding voices, babble before music) and one of plain noisy speech.

    .venv/bin/python -m bench.rerun [--runs 3] [--model base] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import tempfile
from pathlib import Path

from bench.quality import run as quality
from bench.quality.variants import Builder
from ingest.commands import cli

FILES = (
    ("dialogue", "singing-only"),
    ("dialogue", "reversed voice-only"),
    ("dialogue", "foreign-sounding-only"),
    ("jfk", "singing-only"),
    ("dialogue", "babble + music intro"),
    ("dialogue", "noise 5 dB"),
)


def build(folder: Path) -> list[Path]:
    made = []
    for source, recipe in FILES:
        recipes = dict(Builder(quality.MAKERS[source](), folder).recipes())
        made.append(recipes[recipe]().path)
    return made


def outputs(media: Path, model: str, out: Path) -> tuple[str, ...]:
    argv = ["process", str(media), "--model", model, "--format", "json,srt,vtt,txt", "--output-dir", str(out)]
    with contextlib.redirect_stdout(io.StringIO()):
        if cli.main([*argv, "--overwrite", "--log-level", "error"]) != 0:
            raise RuntimeError(f"ingest process failed on {media}")
    return tuple(hashlib.sha256(p.read_bytes()).hexdigest()[:10] for p in sorted(out.iterdir()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--model", default="base")
    ap.add_argument("--workdir", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.workdir or Path(tmp)
        files = build(work / "media")
        seen: dict[Path, list[tuple[str, ...]]] = {f: [] for f in files}
        for n in range(args.runs):
            for media in files:
                seen[media].append(outputs(media, args.model, work / f"run{n}" / media.stem))
    print(f"{args.runs} runs each, interleaved, one process; {args.model}; sha256 prefixes of json, srt, txt, vtt\n")
    print("| file | " + " | ".join(f"run {n + 1}" for n in range(args.runs)) + " | identical |")
    print("|---|" + "---|" * args.runs + "---|")
    for media, runs in seen.items():
        cells = " | ".join(" ".join(r) for r in runs)
        print(f"| {media.stem} | {cells} | {'yes' if len(set(runs)) == 1 else 'NO'} |")


if __name__ == "__main__":
    main()
