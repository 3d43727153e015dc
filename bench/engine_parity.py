"""openai-whisper against faster-whisper on the same weights, through ``ingest process``.

Both engines read the same shipped CTranslate2 weights (openai-whisper through the checkpoint
``ingest.engines.convert`` makes of them), on the ``bench.quality`` variants built here at run
time: the issue 16 subset (clean, music 10 dB, noise 10 dB, telephone, silence 60 s) of each
source. Each file runs through ``ingest.commands.cli.main`` in this process, engine after engine
(so each model stays loaded, as in the daemon); a warm-up file per engine goes first. Prints a
markdown table: WER and seconds per engine per file, then the pooled WER.

    .venv/bin/python -m bench.engine_parity [--model tiny.en] [--sources jfk,dialogue]
        [--variants "clean,music 10 dB,noise 10 dB,telephone,silence"] [--compute-type int8] [--workdir DIR]
        [--output bench/results/engine-parity.md]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench.quality import run as quality
from bench.quality.metrics import Outcome, errors, wer
from bench.quality.variants import Variant

ENGINES = ("faster-whisper", "openai-whisper")
RECIPES = ("clean", "music 10 dB", "noise 10 dB", "telephone", "silence")  # names as in Builder.recipes


def table(model: str, variants: list[Variant], runs: dict[str, list[Outcome]]) -> str:
    head = " | ".join(f"WER {e} | s {e}" for e in ENGINES)
    lines = [f"| file ({model}) | {head} |", "|---" * (1 + 2 * len(ENGINES)) + "|"]
    for n, v in enumerate(variants):
        cells = " | ".join(f"{wer(v.reference, runs[e][n].text):.3f} | {runs[e][n].seconds:.1f}" for e in ENGINES)
        lines.append(f"| {v.label} | {cells} |")
    pooled = []
    for e in ENGINES:
        pairs = [errors(v.reference, r.text) for v, r in zip(variants, runs[e], strict=True)]
        total = sum(r.seconds for r in runs[e])
        pooled.append(f"**{sum(p[0] for p in pairs) / sum(p[1] for p in pairs):.3f}** | **{total:.1f}**")
    lines.append(f"| pooled | {' | '.join(pooled)} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="tiny.en")
    ap.add_argument("--sources", default="jfk,dialogue")
    ap.add_argument("--variants", default=",".join(RECIPES))
    ap.add_argument("--compute-type", default="auto", help="faster-whisper's (openai-whisper is float32 on CPU)")
    ap.add_argument("--workdir", type=Path, help="keep the built media and outputs here")
    ap.add_argument("--output", type=Path, help="also write the table here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.workdir or Path(tmp)
        variants = quality.build(args.sources.split(","), work, 0, args.variants.split(","))
        runs: dict[str, list[Outcome]] = {}
        for engine in ENGINES:
            extra = ["--engine", engine, *(["--compute-type", args.compute_type] if engine == "faster-whisper" else [])]
            quality.run_ingest(variants[0], args.model, work / "warm", None, extra)
            runs[engine] = [quality.run_ingest(v, args.model, work / engine, None, extra) for v in variants]
            print(f"  {engine}: done", file=sys.stderr)
    out = table(args.model, variants, runs)
    print(out)
    if args.output:
        args.output.write_text(out + "\n")


if __name__ == "__main__":
    main()
