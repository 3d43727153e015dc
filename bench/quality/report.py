"""Markdown for the quality benchmark: the side-by-side table, its verdicts, the chains."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from bench.quality import metrics
from bench.quality.metrics import Outcome
from bench.quality.variants import Variant

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Row:
    variant: Variant
    bare: Outcome
    ingest: Outcome
    ratio: float  # ingest/bare wall time, median of paired runs


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def header(models: str, repeats: int) -> str:
    head = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"], capture_output=True, text=True)
    ffmpeg = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout.split()[2]
    return (
        f"# Quality: bare engine vs `ingest process`\n\n"
        f"- date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; code at "
        f"`{head.stdout.strip()[:90] or ROOT}` (plus uncommitted work in the tree)\n"
        f"- machine: {_cpu()}, {os.cpu_count()} cores (shared), CPU int8; ffmpeg {ffmpeg}; "
        f"faster-whisper {version('faster-whisper')}\n"
        f"- models: {models}; {repeats} runs per file (times: median of paired ingest/bare ratios; "
        "quality: the first run)\n"
        "- WER normalisation: lower-case, punctuation and hyphens to spaces, apostrophes inside words kept, "
        "numbers as written (the references hold none)\n"
        f"- words over non-speech: midpoint more than {metrics.EDGE_SECONDS} s inside a known non-speech stretch\n"
        "- cues within standards: ingest's JSON cues checked with `ingest.standards.violations`; "
        "the bare engine writes no cues (n/a)\n"
    )


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.0f}%"


def _line(r: Row) -> str:
    v, b, i = r.variant, r.bare, r.ingest
    over = f"{metrics.words_over(b.words, v.nonspeech)} / {metrics.words_over(i.words, v.nonspeech)}"
    return (
        f"| {v.label} | {b.duration:.0f} | {metrics.wer(v.reference, b.text):.3f} | "
        f"{metrics.wer(v.reference, i.text):.3f} | {over if v.nonspeech else '-'} | "
        f"{b.language} / {i.language} | {_pct(metrics.cues_within(i.cues or (), i.duration))} | {r.ratio:.2f} |"
    )


def pooled(pairs: Iterable[tuple[str, str]]) -> float:
    """WER over several files together: all errors over all reference words."""
    counts = [metrics.errors(ref, hyp) for ref, hyp in pairs]
    return sum(e for e, _ in counts) / max(1, sum(n for _, n in counts))


def table(model: str, rows: list[Row]) -> str:
    lines = [
        f"\n## {model}\n",
        "| variant | audio s | WER bare | WER ingest | words over non-speech bare / ingest | "
        "language bare / ingest | cues within standards | time ingest/bare |",
        "|---|---|---|---|---|---|---|---|",
        *(_line(r) for r in rows),
        "",
        *verdicts(rows),
    ]
    return "\n".join(lines)


def verdicts(rows: list[Row]) -> list[str]:
    """The issue's targets, each with its numbers."""
    noisy = [r for r in rows if r.variant.noisy]
    stereo = [r for r in noisy if "5.1" not in r.variant.name]  # 5.1 alone is a landslide
    worse = [
        f"{r.variant.label} ({metrics.wer(r.variant.reference, r.bare.text):.3f} → "
        f"{metrics.wer(r.variant.reference, r.ingest.text):.3f})"
        for r in rows
        if metrics.wer(r.variant.reference, r.ingest.text) > metrics.wer(r.variant.reference, r.bare.text)
    ]
    quiet = [r for r in rows if r.variant.nonspeech and "crowd" not in r.variant.name]
    crowd = [r for r in rows if r.variant.nonspeech and "crowd" in r.variant.name]
    cues = [(c, r.ingest.duration) for r in rows for c in [r.ingest.cues or ()]]
    total = sum(len(c) for c, _ in cues)
    good = sum(round((metrics.cues_within(c, d) or 0) * len(c)) for c, d in cues)
    return [
        f"- noisy variants ({len(noisy)} files), pooled WER: bare {_wer(noisy, 'bare'):.3f}, "
        f"ingest {_wer(noisy, 'ingest'):.3f}; without 5.1: bare {_wer(stereo, 'bare'):.3f}, "
        f"ingest {_wer(stereo, 'ingest'):.3f}",
        f"- ingest worse than bare on: {', '.join(worse) or 'none'}",
        f"- words over silence and music-only stretches (target 0): bare {_over(quiet, 'bare')}, "
        f"ingest {_over(quiet, 'ingest')}; over crowd-only stretches: bare {_over(crowd, 'bare')}, "
        f"ingest {_over(crowd, 'ingest')}",
        f"- cues within standards: {good} of {total} ({_pct(good / total if total else None)})",
        f"- median time ingest/bare over all files: {sorted(r.ratio for r in rows)[len(rows) // 2]:.2f}",
    ]


def _cell(outs: dict[str, Outcome], by_label: dict[str, Variant], label: str) -> str:
    got = outs.get(label)
    return "-" if got is None else f"{metrics.wer(by_label[label].reference, got.text):.2f}"


def _wer(rows: list[Row], path: str) -> float:
    return pooled((r.variant.reference, getattr(r, path).text) for r in rows)


def _over(rows: list[Row], path: str) -> int:
    return sum(metrics.words_over(getattr(r, path).words, r.variant.nonspeech) for r in rows)


def chain_table(model: str, results: dict[str, dict[str, Outcome]], variants: list[Variant]) -> str:
    """One row per audio chain; cells are WER per source (e.g. jfk / dialogue)."""
    by_label = {v.label: v for v in variants}
    names = list(dict.fromkeys(v.name for v in variants if any(v.label in r for r in results.values())))
    sources = list(dict.fromkeys(v.source for v in variants))
    lines = [
        f"\n## Audio chains ({model}, ingest only; cells: WER {' / '.join(sources)})\n",
        f"| chain | {' | '.join(names)} | pooled WER | ingest s |",
        "|---|" + "---|" * (len(names) + 2),
    ]
    for chain, outs in results.items():
        cells = [" / ".join(_cell(outs, by_label, f"{s} · {name}") for s in sources) for name in names]
        wer = pooled((by_label[label].reference, o.text) for label, o in outs.items())
        lines.append(f"| {chain} | {' | '.join(cells)} | {wer:.3f} | {sum(o.seconds for o in outs.values()):.0f} |")
    return "\n".join(lines)
