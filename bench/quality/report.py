"""Markdown for the quality benchmark: the side-by-side table, its verdicts, the chains."""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from bench.quality import metrics
from bench.quality.metrics import Outcome
from bench.quality.variants import TAKE_STEP_DB, Variant

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Row:
    """One file: each path's outcome on every take (take 0 first)."""

    variant: Variant
    bare: tuple[Outcome, ...]
    ingest: tuple[Outcome, ...]

    @property
    def ratio(self) -> float:
        """Ingest/bare wall time: the median over paired runs."""
        return statistics.median(i.seconds / b.seconds for b, i in zip(self.bare, self.ingest, strict=True))

    def wers(self, path: str) -> list[float]:
        return [metrics.wer(self.variant.reference, o.text) for o in getattr(self, path)]

    def wer(self, path: str) -> float:
        return statistics.median(self.wers(path))


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def header(models: str, takes: int, config: Path | None = None) -> str:
    head = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"], capture_output=True, text=True)
    ffmpeg = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout.split()[2]
    return (
        f"# Quality: bare engine vs `ingest process`\n\n"
        f"- date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; code at "
        f"`{head.stdout.strip()[:90] or ROOT}`{_dirty()}\n"
        f"- machine: {_cpu()}, {os.cpu_count()} cores (shared), CPU int8; ffmpeg {ffmpeg}; "
        f"faster-whisper {version('faster-whisper')}\n"
        f"- models: {models}; {_takes(takes)}\n"
        "- WER normalisation: lower-case, punctuation and hyphens to spaces, apostrophes inside words kept, "
        "numbers as written (the references hold none)\n"
        f"- words over non-speech: midpoint more than {metrics.EDGE_SECONDS} s inside a known non-speech stretch\n"
        "- cues within standards: ingest's JSON cues checked with `ingest.standards.violations`; "
        "the bare engine writes no cues (n/a)\n"
        f"- ingest's settings: {_settings(config)}\n"
    )


def _dirty() -> str:
    """Whether tracked files differ from the commit named (a run of a candidate change)."""
    status = ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"]
    return " (plus uncommitted changes)" if subprocess.run(status, capture_output=True).stdout.strip() else ""


def _takes(takes: int) -> str:
    if not takes:
        return "no side-by-side table (--takes 0), the extra tables only"
    return (
        f"{takes} takes per file, take k the whole file k x {TAKE_STEP_DB} dB quieter "
        "(inaudible; the decoder is chaotic enough that single words flip): WER is the median over "
        "takes, pooled WER and counts cover every take, times are medians of paired ingest/bare ratios"
    )


def _settings(config: Path | None) -> str:
    if config is None:
        return "defaults"
    return f"defaults but `{' '.join(config.read_text().split())}` ({config.name})"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.0f}%"


def _line(r: Row) -> str:
    v, b, i = r.variant, r.bare, r.ingest
    over = f"{_over([r], 'bare')} / {_over([r], 'ingest')}"
    takes = f"{' '.join(f'{x:.3f}' for x in r.wers('bare'))} / {' '.join(f'{x:.3f}' for x in r.wers('ingest'))}"
    within, total = _cues(i)
    return (
        f"| {v.label} | {b[0].duration:.0f} | {r.wer('bare'):.3f} | {r.wer('ingest'):.3f} | {takes} | "
        f"{over if v.nonspeech else '-'} | {_languages(b)} / {_languages(i)} | "
        f"{_pct(within / total if total else None)} | {r.ratio:.2f} |"
    )


def _cues(outs: Iterable[Outcome]) -> tuple[int, int]:
    """(cues within the standards, cues) over several outcomes."""
    counts = [(len(o.cues or ()), metrics.cues_within(o.cues or (), o.duration) or 0) for o in outs]
    return sum(round(share * n) for n, share in counts), sum(n for n, _ in counts)


def _languages(outs: tuple[Outcome, ...]) -> str:
    return ",".join(dict.fromkeys(o.language for o in outs))


def pooled(pairs: Iterable[tuple[str, str]]) -> float:
    """WER over several files together: all errors over all reference words."""
    counts = [metrics.errors(ref, hyp) for ref, hyp in pairs]
    return sum(e for e, _ in counts) / max(1, sum(n for _, n in counts))


def table(model: str, rows: list[Row]) -> str:
    return "\n".join([_rows(model, rows), "", *verdicts(rows)])


def _rows(title: str, rows: list[Row]) -> str:
    return "\n".join(
        [
            f"\n## {title}\n",
            "| variant | audio s | WER bare | WER ingest | WER per take bare / ingest | "
            "words over non-speech bare / ingest | language bare / ingest | cues within standards | time ingest/bare |",
            "|---|---|---|---|---|---|---|---|---|",
            *(_line(r) for r in rows),
        ]
    )


def verdicts(rows: list[Row]) -> list[str]:
    """The issue's targets, each with its numbers."""
    noisy = [r for r in rows if r.variant.noisy]
    stereo = [r for r in noisy if "5.1" not in r.variant.name]  # 5.1 alone is a landslide
    worse = [
        f"{r.variant.label} ({r.wer('bare'):.3f} → {r.wer('ingest'):.3f})"
        for r in rows
        if r.wer("ingest") > r.wer("bare")
    ]
    first = [r.variant.label for r in rows if r.wers("ingest")[0] > r.wers("bare")[0]]
    jitter = [r for r in rows if len(set(r.wers("bare"))) > 1]
    quiet = [r for r in rows if r.variant.nonspeech and "crowd" not in r.variant.name]
    crowd = [r for r in rows if r.variant.nonspeech and "crowd" in r.variant.name]
    good, total = _cues(o for r in rows for o in r.ingest)
    return [
        f"- noisy variants ({len(noisy)} files), pooled WER: bare {_wer(noisy, 'bare'):.3f}, "
        f"ingest {_wer(noisy, 'ingest'):.3f}; without 5.1: bare {_wer(stereo, 'bare'):.3f}, "
        f"ingest {_wer(stereo, 'ingest'):.3f}",
        f"- ingest worse than bare (median over takes) on: {', '.join(worse) or 'none'}",
        f"- on take 0 alone (the files as built), ingest worse on: {', '.join(first) or 'none'}",
        f"- the bare engine's own jitter: its WER changes between takes on {len(jitter)} of {len(rows)} files "
        f"(widest: {max((max(r.wers('bare')) - min(r.wers('bare')) for r in rows), default=0):.3f})",
        f"- words over silence and music-only stretches, all takes (target 0): bare {_over(quiet, 'bare')}, "
        f"ingest {_over(quiet, 'ingest')}; over crowd-only stretches: bare {_over(crowd, 'bare')}, "
        f"ingest {_over(crowd, 'ingest')}",
        f"- cues within standards: {good} of {total} ({_pct(good / total if total else None)})",
        f"- median time ingest/bare over all files: {sorted(r.ratio for r in rows)[len(rows) // 2]:.2f}",
    ]


def _cell(outs: dict[str, Outcome], by_label: dict[str, Variant], label: str) -> str:
    got = outs.get(label)
    return "-" if got is None else f"{metrics.wer(by_label[label].reference, got.text):.2f}"


def _wer(rows: list[Row], path: str) -> float:
    return pooled((r.variant.reference, o.text) for r in rows for o in getattr(r, path))


def _over(rows: list[Row], path: str) -> int:
    return sum(metrics.words_over(o.words, r.variant.nonspeech) for r in rows for o in getattr(r, path))


def chain_table(model: str, results: dict[str, dict[str, Outcome]], variants: list[Variant]) -> str:
    """One row per audio chain; cells are WER per source (e.g. jfk / dialogue)."""
    by_label = {v.label: v for v in variants}
    names = list(dict.fromkeys(v.name for v in variants if any(v.label in r for r in results.values())))
    sources = list(dict.fromkeys(v.source for v in variants))
    lines = [
        f"\n## Audio chains ({model}, ingest only, take 0; cells: WER {' / '.join(sources)})\n",
        f"| chain | {' | '.join(names)} | pooled WER | ingest s |",
        "|---|" + "---|" * (len(names) + 2),
    ]
    for chain, outs in results.items():
        cells = [" / ".join(_cell(outs, by_label, f"{s} · {name}") for s in sources) for name in names]
        wer = pooled((by_label[label].reference, o.text) for label, o in outs.items())
        lines.append(f"| {chain} | {' | '.join(cells)} | {wer:.3f} | {sum(o.seconds for o in outs.values()):.0f} |")
    return "\n".join(lines)


def gap_table(model: str, rows: list[Row]) -> str:
    """The silence variant at several lengths (take 0 each), with a summary per source."""
    lengths = len({r.variant.name for r in rows})
    title = f"Silence lengths ({model}, take 0; the main table's silence variant at {lengths} lengths)"
    lines = [_rows(title, rows), ""]
    for source in dict.fromkeys(r.variant.source for r in rows):
        mine = [r for r in rows if r.variant.source == source]
        b, i = ([r.wer(p) for r in mine] for p in ("bare", "ingest"))
        better, worse = sum(y < x for x, y in zip(b, i, strict=True)), sum(y > x for x, y in zip(b, i, strict=True))
        lines.append(
            f"- {source}: median WER bare {statistics.median(b):.3f}, ingest {statistics.median(i):.3f}; "
            f"mean {statistics.mean(b):.3f} / {statistics.mean(i):.3f}; ingest better on "
            f"{better}, worse on {worse} of {len(mine)} lengths; words over the silence: "
            f"bare {_over(mine, 'bare')}, ingest {_over(mine, 'ingest')}"
        )
    return "\n".join(lines)
