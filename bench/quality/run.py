"""The bare engine against ``ingest process``, side by side on every variant, in one run.

Bare: ``faster_whisper.WhisperModel(<the same local folder>, compute_type="int8")``
then ``transcribe(raw_file, word_timestamps=True)`` with its defaults (beam 5, no VAD,
its own decoding and downmix). Ingest: ``ingest process FILE --model M --format
json,srt`` through ``ingest.cli.main`` in this process (so its model stays loaded
between files, like the daemon's), default settings unless a chain's TOML says
otherwise. Each file is run in several takes (the same recording a hair quieter each time, see
``take_gain``); bare and ingest alternate on each take; WER is the median over takes,
times the median of paired ratios.

    .venv/bin/python -m bench.quality [--models base,tiny.en] [--takes 3] [--chains] [--gaps] [--config T]
        [--sources jfk,dialogue] [--only clean,babble-only] [--workdir DIR] [--output bench/results/quality.md]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.quality import report, sounds
from bench.quality.metrics import Outcome
from bench.quality.variants import TAKE_STEP_DB, Builder, Variant
from ingest import settings
from ingest.commands import cli
from ingest.engines import weights
from ingest.models import Cue

# Audio chains compared on the noisy variants, each against today's default (centre channel
# only): the band-limit and loudness steps that used to be the default, and the rest.
CHAINS = {
    "default": "",
    "band-limit (hp 80, lp 7800)": "[audio]\nhighpass_hz = 80\nlowpass_hz = 7800\n",
    "speechnorm": '[audio]\nloudness = "speechnorm"\n',
    "band-limit + speechnorm (old default)": '[audio]\nhighpass_hz = 80\nlowpass_hz = 7800\nloudness = "speechnorm"\n',
    "loudnorm": '[audio]\nloudness = "loudnorm"\n',
    "denoise": "[audio]\ndenoise = true\n",
    "denoise + loudnorm": '[audio]\ndenoise = true\nloudness = "loudnorm"\n',
    "centre off": "[audio]\ncentre_channel = false\n",
}
CHAIN_VARIANTS = ("music 10 dB", "music 5 dB", "noise 10 dB", "noise 5 dB", "telephone", "5.1 centre")
ONLY_FOR = {"centre off": ("5.1 centre",)}  # the other variants have no centre to lose
# Seconds of digital silence before and after the speech for --gaps, evenly spaced around the
# main table's 60 s: where each path's decoding windows meet the speech decides single words,
# so one length is one draw of that.
GAPS = tuple(range(40, 81, 5))
MAKERS: dict[str, Callable[[], sounds.Speech]] = {"jfk": sounds.jfk, "dialogue": sounds.dialogue}


@functools.cache  # one load per model, whichever tables use it
def bare_model(name: str) -> object:
    from faster_whisper import WhisperModel

    ref = weights.resolve(name, settings.load().models_dir)
    return WhisperModel(ref.location, compute_type="int8")


def run_bare(model: object, variant: Variant) -> Outcome:
    start = time.perf_counter()
    segments, info = model.transcribe(str(variant.path), word_timestamps=True)
    segments = list(segments)
    seconds = time.perf_counter() - start
    words = tuple((w.start, w.end, w.word) for s in segments for w in s.words or ())
    return Outcome("".join(s.text for s in segments), words, info.language, seconds, None, info.duration)


def run_ingest(
    variant: Variant, model: str, out: Path, config: Path | None = None, extra: Sequence[str] = ()
) -> Outcome:
    """``ingest process`` on the file, as the command line runs it (``extra``: more of its
    options, e.g. ``--engine``); read back its JSON."""
    out.mkdir(parents=True, exist_ok=True)
    argv = ["process", str(variant.path), "--model", model, "--format", "json,srt", "--output-dir", str(out)]
    argv += ["--overwrite", "--log-level", "error", *(["--config", str(config)] if config else []), *extra]
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        status = cli.main(argv)
    seconds = time.perf_counter() - start
    if status != 0:
        raise RuntimeError(f"ingest process failed on {variant.path} ({status})")
    found = sorted(out.glob(f"{variant.path.stem}*.json"))
    if not found:  # skipped ("no speech found"): nothing written, nothing said
        return Outcome("", (), "skipped", seconds, (), None)
    doc = json.loads(found[0].read_text())
    words = tuple((w["start"], w["end"], w["word"]) for s in doc["segments"] for w in s["words"])
    cues = tuple(Cue(c["start"], c["end"], tuple(c["lines"]), c.get("speaker")) for c in doc["cues"])
    return Outcome(doc["text"], words, doc["detected_language"], seconds, cues, doc["duration"])


def side_by_side(takes: list[list[Variant]], model: str, work: Path, config: Path | None = None) -> list[report.Row]:
    """Bare and ingest on each take of each file, alternating; a row per file over its takes."""
    engine = bare_model(model)
    run_bare(engine, takes[0][0])  # warm-up both paths
    run_ingest(takes[0][0], model, work / "warm", config)
    rows = []
    for same in zip(*takes, strict=True):  # one file, every take
        outs = [work / model / v.path.parent.name / v.path.stem for v in same]
        runs = [(run_bare(engine, v), run_ingest(v, model, out, config)) for v, out in zip(same, outs, strict=True)]
        rows.append(report.Row(same[0], tuple(b for b, _ in runs), tuple(i for _, i in runs)))
        print(f"  {same[0].label}: done", file=sys.stderr)
    return rows


def chains(variants: list[Variant], model: str, work: Path) -> dict[str, dict[str, Outcome]]:
    """WER per audio chain on the noisy variants: ingest only (the bare engine has no chain)."""
    results: dict[str, dict[str, Outcome]] = {}
    for name, toml in CHAINS.items():
        config = work / f"chain-{len(results)}.toml"
        config.write_text(toml)
        wanted = ONLY_FOR.get(name, CHAIN_VARIANTS)
        chosen = [v for v in variants if v.name in wanted]
        out = work / "chains" / str(len(results))
        results[name] = {v.label: run_ingest(v, model, out / v.path.stem, config) for v in chosen}
        print(f"  chain {name}: done", file=sys.stderr)
    return results


def gaps(sources: list[str], model: str, work: Path, config: Path | None = None) -> list[report.Row]:
    """Both paths on the silence variant at every length in GAPS (take 0): one length is one
    draw of where each path's windows fall on the speech."""
    folder = work / "media" / "gaps"
    variants = [Builder(MAKERS[s](), folder, silence_seconds=gap).silence() for s in sources for gap in GAPS]
    return side_by_side([variants], model, work / "gaps", config)


def take_gain(take: int) -> float:
    """Take 0 is the file as built; take k is the whole file k x TAKE_STEP_DB quieter. Far
    below what anyone hears (about 1 dB), yet the decoder's beam search is chaotic: a change
    of 1.5e-5 in the samples flips single words. Medians over takes measure what a setting
    does, not where one waveform happens to fall."""
    return -TAKE_STEP_DB * take


def build(sources: list[str], work: Path, take: int = 0, only: list[str] | None = None) -> list[Variant]:
    """Every variant of each source (or those whose recipe is named in ``only``)."""
    folder = work / "media" / f"take-{take}"
    builders = [Builder(MAKERS[s](), folder, gain_db=take_gain(take)) for s in sources]
    return [make() for b in builders for name, make in b.recipes() if only is None or name in only]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="base")
    ap.add_argument("--takes", type=int, default=3, help="runs per file, each a hair quieter; 0: only --chains/--gaps")
    ap.add_argument("--sources", default="jfk,dialogue")
    ap.add_argument("--chains", action="store_true", help="also compare audio chains (first model only)")
    ap.add_argument("--gaps", action="store_true", help="also the silence variant at 40-80 s (first model only)")
    ap.add_argument("--only", help="these recipes only, comma-separated (names as in variants.Builder.recipes)")
    ap.add_argument("--config", type=Path, help="ingest's side reads this TOML (default: default settings)")
    ap.add_argument("--workdir", type=Path, help="keep the built media and outputs here")
    ap.add_argument("--output", type=Path, help="also write the markdown here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.workdir or Path(tmp)
        sources, models = args.sources.split(","), args.models.split(",")
        needed = max(args.takes, 1 if args.chains else 0)
        only = args.only.split(",") if args.only else None
        takes = [build(sources, work, k, only) for k in range(needed)]
        text = [report.header(args.models, args.takes, args.config)]
        for model in models if args.takes else ():  # --takes 0: the extra tables only
            text.append(report.table(model, side_by_side(takes, model, work, args.config)))
        if args.chains:  # first model only
            text.append(report.chain_table(models[0], chains(takes[0], models[0], work), takes[0]))
        if args.gaps:
            text.append(report.gap_table(models[0], gaps(sources, models[0], work, args.config)))
    out = "\n".join(text)
    print(out)
    if args.output:
        args.output.write_text(out)


if __name__ == "__main__":
    main()
