"""The server bench's tables: medians over rounds, each round's figure beside them."""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from typing import Any

from bench.server_load import Load

MIB = 2**20
TARGET = 0.100  # issue 17: /status answers within 100 ms while a transcription runs


def report(results: dict[str, Any], args: argparse.Namespace) -> list[str]:
    out = [f"{args.rounds} rounds; tiny.en on the CPU, one worker; medians (each round's figure)", ""]
    out += status_table(results["status"], args)
    out += ["", *upload_table(results["upload"])]
    out += ["", *identical_table(results["identical"], args)]
    out += ["", *backfill_table(results["backfill"], results["identical"], args)]
    return out


def _cell(values: list[float], fmt: str = "{:.1f}") -> str:
    rounds = " ".join(fmt.format(v) for v in values)
    return f"{fmt.format(statistics.median(values))} ({rounds})"


def status_table(rounds: list[dict[str, Any]], args: argparse.Namespace) -> list[str]:
    figures: list[tuple[str, Callable[[Load], float], str]] = [
        ("requests/s", lambda load: load.rate, "{:.0f}"),
        ("p50 ms", lambda load: load.quantile(0.5) * 1000, "{:.1f}"),
        ("p99 ms", lambda load: load.quantile(0.99) * 1000, "{:.1f}"),
        ("max ms", lambda load: max(load.latencies) * 1000, "{:.0f}"),
        (f"answers over {TARGET * 1000:.0f} ms", lambda load: load.over(TARGET), "{:.0f}"),
        ("answers", lambda load: len(load.latencies), "{:.0f}"),
        ("failed requests", lambda load: load.errors, "{:.0f}"),
        ("window s", lambda load: load.seconds, "{:.1f}"),
    ]
    out = [f"`GET /status`, {args.clients} keep-alive clients back to back, {args.seconds:g} s windows", ""]
    out += ["| | idle | while a 54 s /asr job runs |", "|---|---|---|"]
    for name, figure, fmt in figures:
        idle = _cell([figure(r["idle"]) for r in rounds], fmt)
        busy = _cell([figure(r["busy"]) for r in rounds], fmt)
        out.append(f"| {name} | {idle} | {busy} |")
    covered = sum(1 for r in rounds if r["covered"])
    jobs = _cell([r["job_seconds"] for r in rounds])
    out += ["", f"The job still ran at the window's end in {covered} of {len(rounds)} rounds; "]
    out[-1] += f"its /asr answered in {jobs} s."
    return out


def upload_table(up: dict[str, Any]) -> list[str]:
    rate = up["megabytes"] / up["upload_seconds"]
    kind = "VmHWM, reset before" if up["exact"] else "sampled"
    out = [f"A {up['megabytes']} MiB WAV streamed to `/detect-language` (RSS of the server process, MiB)", ""]
    out += [f"| before | peak until the last byte was sent (sampled) | peak over the request ({kind}) |"]
    out[-1] += " upload s (MiB/s) | answer after the upload | spool temp files | spool after |"
    out.append("|---|---|---|---|---|---|---|")
    blobs = ", ".join(f"{name[:12]}… {size / MIB:.0f} MiB" for name, size in up["blobs"]) or "empty"
    out.append(
        f"| {up['before'] / MIB:.0f} | {up['peak_upload'] / MIB:.0f} (+{(up['peak_upload'] - up['before']) / MIB:.1f}) "
        f"| {up['peak_request'] / MIB:.0f} (+{(up['peak_request'] - up['before']) / MIB:.1f}) "
        f"| {up['upload_seconds']:.1f} ({rate:.0f}) | {up['answer_seconds']:.1f} s, {up['status']} {up['body']} "
        f"| {len(up['temps'])} | {blobs} |"
    )
    first = up["first"]
    out += ["", "Before it, the service's first `/detect-language` (jfk.flac, 11 s) answered in "]
    out[-1] += f"{first['seconds']:.1f} s and left the server {first['grew'] / MIB:+.0f} MiB larger."
    return out


def identical_table(rounds: list[dict[str, Any]], args: argparse.Namespace) -> list[str]:
    n = args.burst
    out = [f"`POST /asr` of jfk.flac (11 s): one alone, and {n} identical ones at once", ""]
    out += ["| requests | wall s | ledger rows | runs | answered 200 | bodies identical |", "|---|---|---|---|---|---|"]
    out.append(f"| 1 alone | {_cell([r['alone']['seconds'] for r in rounds], '{:.2f}')} | 1 | 1 | 1 | - |")
    rows, runs = _cell([r["rows"] for r in rounds], "{:.0f}"), _cell([r["runs"] for r in rounds], "{:.0f}")
    same = "yes" if all(r["same"] for r in rounds) else "NO"
    ok = _cell([r["ok"] for r in rounds], "{:.0f}")
    out.append(f"| {n} at once | {_cell([r['wall'] for r in rounds], '{:.2f}')} | {rows} | {runs} | {ok} | {same} |")
    return out


def backfill_table(backfill: dict[str, Any], idle: list[dict[str, Any]], args: argparse.Namespace) -> list[str]:
    rounds = backfill["rounds"]
    out = [f"`POST /asr` of jfk.flac: alone (the lone requests of the table above), and behind {args.backfill}"]
    out[-1] += f" watched files (a backfill job ran {backfill['job']:.2f} s, median)"
    out += ["", "| queue | answer s | sent → queued s | queued → claimed s | queued → its run began s | its run s |"]
    out[-1] += " backfill jobs pending when sent | backfill jobs that ended while it waited |"
    out.append("|---|---|---|---|---|---|---|---|")
    for name, ones, pending, ahead in (
        ("empty", [r["alone"] for r in idle], "0", "0"),
        ("behind the backfill", rounds, _cell([r["pending"] for r in rounds], "{:.0f}"), None),
    ):
        cells = [_cell([o[k] for o in ones], "{:.2f}") for k in ("seconds", "queued", "claimed", "wait", "run")]
        ahead = ahead or _cell([r["ahead"] for r in rounds], "{:.0f}")
        out.append(f"| {name} | {' | '.join(cells)} | {pending} | {ahead} |")
    return out
