"""Peak memory of a long file: the old way (the whole array) against the new (spooled and
memory-mapped decoding, transcription in windows), side by side in one run.

    .venv/bin/python -m bench.longfile [--minutes 30,60] [--takes 3] [--stages full|features] [--window 10]

The audio is built at run time: a 120-s block (JFK, two espeak-ng sentences, silences
between) looped to each length and encoded as AAC in .m4a, as audiobooks come. Each
measurement is a fresh process that loads tiny.en (int8, CPU), then decodes, runs the VAD
and transcribes (``--stages features``: computes the log-mel features in place of the
transcription, much quicker). The parent samples the child's /proc status every 10 ms:
``RssAnon`` is memory the kernel cannot take back without swap; ``RssFile`` is file pages
(libraries, weights, and the new way's memory-mapped samples), which it can drop under
pressure and read again. Peak RSS is the child's ``ru_maxrss`` (wait4). Ways alternate
within a take; medians over takes.

The old way is ingest before windows, restated here: ffmpeg's stdout read whole into bytes
(``capture_output``), the VAD over a padded copy of all samples, and the whole array given
to ``WhisperModel.transcribe`` (which computes the features of all of it at once).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
JFK_FILE = ROOT.parent / "shared" / "media" / "jfk.flac"
JFK = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."
SENTENCES = ("Thank you very much for your help with the garden.", "Please close the door when you leave the room.")
BLOCK = 120  # seconds; about 21 s of it speech
WAYS = ("old", "new")
SAMPLE_EVERY = 0.01  # seconds between looks at the child's /proc status
MIB = 1024 * 1024


def ffmpeg(*args: str | Path) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *map(str, args)], check=True)


def build(folder: Path, minutes: list[int]) -> dict[int, Path]:
    """One 120-s block, looped to each length and encoded as AAC; the reference is its text."""
    parts = [("silence", 6), (JFK_FILE, 0), ("silence", 9), (SENTENCES[0], 0), ("silence", 12), (SENTENCES[1], 0)]
    wavs = [_part(folder / f"part{n}.wav", what, seconds) for n, (what, seconds) in enumerate(parts)]
    joined = folder / "joined.wav"
    subprocess.run(["sox", *map(str, wavs), str(joined)], check=True)
    block = folder / "block.wav"
    ffmpeg("-i", joined, "-af", "apad", "-t", BLOCK, block)
    made = {}
    for length in minutes:
        made[length] = folder / f"long-{length}min.m4a"
        loops = length * 60 // BLOCK - 1
        ffmpeg("-stream_loop", loops, "-i", block, "-c:a", "aac", "-b:a", "64k", made[length])
    return made


def _part(path: Path, what: str | Path, seconds: float) -> Path:
    if what == "silence":
        ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", seconds, "-c:a", "pcm_s16le", path)
    elif isinstance(what, Path):
        ffmpeg("-i", what, "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", path)
    else:
        spoken = path.with_suffix(".espeak.wav")
        subprocess.run(["espeak-ng", "-v", "en", "-w", str(spoken), what], check=True)
        ffmpeg("-i", spoken, "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", path)
    return path


def reference(minutes: int) -> str:
    return " ".join([JFK, *SENTENCES] * (minutes * 60 // BLOCK))


# ---- in the child -------------------------------------------------------------------------


def child(way: str, path: str, stages: str, window: str) -> None:
    """Load, decode, VAD, transcribe (or features), saying each stage on stdout as it starts."""
    from ingest import log

    log.setup("warning", "json", sys.stderr)  # stdout carries the stages and the result
    model, job, ref, plan = _load()
    _stage("decode")
    audio = _decode_old(path) if way == "old" else _decode_new(path)
    _stage("vad")
    audio = _vad_old(audio) if way == "old" else _vad_new(audio)
    _stage("transcribe" if stages == "full" else "features")
    text = _transcribe(way, stages, (model, job, ref, plan), audio, float(window))
    _stage("done")
    print(json.dumps({"result": {"audio": audio.duration, "text": text}}), flush=True)


def _stage(name: str) -> None:
    print(json.dumps({"stage": name, "at": time.monotonic()}), flush=True)


def _load() -> tuple[Any, Any, Any, Any]:
    from ingest_plugins import faster_whisper as fw

    from ingest.engines import device, modelcache, weights
    from ingest.models import Job, JobOptions

    _stage("load")
    job = Job(Path("long.m4a"), JobOptions(model="tiny.en", device="cpu", language="en"))
    ref, plan = weights.resolve("tiny.en", job.options.models_dir), device.plan("cpu")
    key = (fw.NAME, ref.location, "cpu", 0, "int8", 0)  # the key fw.transcribe uses: one load
    with modelcache.CACHE.use(key, lambda: fw.load(ref, plan, "int8", 0)) as model:
        return model, job, ref, plan


def _decode_old(path: str) -> Any:
    from ingest.media import extract, probe
    from ingest.models import Audio
    from ingest.settings import AudioSettings

    media = probe.probe(Path(path))
    track = media.audio_tracks[0]
    proc = subprocess.run(extract.command(media, track, AudioSettings()), capture_output=True, check=True)
    return Audio(np.frombuffer(proc.stdout, dtype=np.float32), extract.SAMPLE_RATE, track)


def _decode_new(path: str) -> Any:
    from ingest.media import extract, probe
    from ingest.settings import AudioSettings

    media = probe.probe(Path(path))
    return extract.extract(media, media.audio_tracks[0], AudioSettings())


def _vad_old(audio: Any) -> Any:
    from dataclasses import replace

    from ingest.media import vad
    from ingest.settings import SpeechSettings

    padded = np.pad(audio.samples, (0, -len(audio.samples) % vad.FRAME))
    step = vad.FRAME * vad.STATE_FRAMES
    probs = np.concatenate([vad._model()(padded[i : i + step]).reshape(-1) for i in range(0, len(padded), step)])
    del padded
    speech = vad.regions(probs, SpeechSettings(), audio.duration, vad.FRAME / audio.sample_rate)
    return replace(audio, speech=speech)


def _vad_new(audio: Any) -> Any:
    from ingest.media import vad
    from ingest.settings import SpeechSettings

    return vad.detect(audio, SpeechSettings())


def _transcribe(way: str, stages: str, engine: tuple[Any, Any, Any, Any], audio: Any, window: float) -> str:
    from ingest_plugins import faster_whisper as fw

    from ingest.engines import windows

    model, job, ref, plan = engine

    if stages == "features":
        if way == "old":
            model.feature_extractor(audio.samples)
        else:
            windows.transcribe(audio, lambda w: _features(model, w), window)
        return ""
    if way == "new":
        return fw.transcribe(job, audio, ref, plan, plan, window=window).text
    clips = [t for region in audio.speech for t in region]
    common = dict(language="en", beam_size=5, word_timestamps=True, clip_timestamps=clips)
    segments, _ = model.transcribe(audio.samples, **common)
    return " ".join(s.text.strip() for s in segments)


def _features(model: Any, window: Any) -> list[Any]:
    model.feature_extractor(window.audio.samples)  # computed and dropped, as the engine would
    return []


# ---- in the parent ------------------------------------------------------------------------


def measure(way: str, path: Path, stages: str, window: float) -> dict[str, Any]:
    """One fresh child: per-stage peak RssAnon and RssFile (MiB), seconds, ru_maxrss, text."""
    cmd = [sys.executable, "-m", "bench.longfile", "--child", way, str(path), stages, str(window)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    events: list[dict[str, Any]] = []
    reader = threading.Thread(target=lambda: events.extend(map(json.loads, proc.stdout)), name="longfile-reader")
    reader.start()
    peaks: dict[str, list[float]] = {}
    for anon, file in _samples(proc.pid):
        stage = next((e["stage"] for e in reversed(events) if "stage" in e), "start")
        peak = peaks.setdefault(stage, [0.0, 0.0])
        peak[0], peak[1] = max(peak[0], anon), max(peak[1], file)
    _, status, usage = os.wait4(proc.pid, 0)
    reader.join()
    if status:
        raise RuntimeError(f"{way} on {path.name} failed ({status})")
    return {"peaks": peaks, "seconds": _seconds(events), "maxrss": usage.ru_maxrss / 1024, **events[-1]["result"]}


def _samples(pid: int) -> Iterator[tuple[float, float]]:
    """(RssAnon, RssFile) in MiB from /proc/<pid>/status until the process ends."""
    status = Path(f"/proc/{pid}/status")
    while True:
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines())
            if fields["State"].strip().startswith("Z"):
                return
            yield (int(fields["RssAnon"].split()[0]) / 1024, int(fields["RssFile"].split()[0]) / 1024)
        except (FileNotFoundError, KeyError, ProcessLookupError):
            return
        time.sleep(SAMPLE_EVERY)


def _seconds(events: list[dict[str, Any]]) -> dict[str, float]:
    stages = [e for e in events if "stage" in e]
    return {a["stage"]: b["at"] - a["at"] for a, b in itertools.pairwise(stages)}


def run(files: dict[int, Path], takes: int, stages: str, window: float) -> dict[tuple[int, str], list[dict[str, Any]]]:
    results: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for take in range(takes):
        for minutes, path in files.items():
            for way in WAYS if take % 2 == 0 else reversed(WAYS):
                got = measure(way, path, stages, window)
                results.setdefault((minutes, way), []).append(got)
                anon = max(p[0] for p in got["peaks"].values())
                print(f"take {take} {minutes} min {way}: peak anon {anon:.0f} MiB, maxrss {got['maxrss']:.0f} MiB")
    return results


def table(results: dict[tuple[int, str], list[dict[str, Any]]], stages: str) -> str:
    last = "transcribe" if stages == "full" else "features"
    head = f"| audio | way | peak RssAnon MiB | RssAnon MiB: decode / vad / {last} | RssFile MiB in {last} "
    head += f"| peak RSS MiB | seconds: decode / vad / {last} | WER |"
    lines = [head, "|" + "---|" * 8]
    lines += [_row(minutes, way, takes, last) for (minutes, way), takes in results.items()]
    return "\n".join(lines)


def _row(minutes: int, way: str, takes: list[dict[str, Any]], last: str) -> str:
    from bench.quality.metrics import wer

    med = statistics.median
    order = ("decode", "vad", last)
    peak = med(max(p[0] for p in x["peaks"].values()) for x in takes)
    anon = " / ".join(f"{med(x['peaks'].get(s, [0, 0])[0] for x in takes):.0f}" for s in order)
    file = med(x["peaks"].get(last, [0, 0])[1] for x in takes)
    secs = " / ".join(f"{med(x['seconds'].get(s, 0) for x in takes):.1f}" for s in order)
    error = f"{med(wer(reference(minutes), x['text']) for x in takes):.3f}" if last == "transcribe" else "n/a"
    maxrss = med(x["maxrss"] for x in takes)
    return f"| {minutes} min | {way} | {peak:.0f} | {anon} | {file:.0f} | {maxrss:.0f} | {secs} | {error} |"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", default="30,60")
    ap.add_argument("--takes", type=int, default=3)
    ap.add_argument("--stages", default="full", choices=["full", "features"])
    ap.add_argument("--window", type=float, default=0, help="minutes a window (new way); 0: ingest's own")
    ap.add_argument("--output", type=Path, default=ROOT / "bench/results/longfile.md")
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-longfile-") as tmp:
        files = build(Path(tmp), [int(m) for m in args.minutes.split(",")])
        built = time.monotonic() - began
        results = run(files, args.takes, args.stages, _window_seconds(args.window))
    report = _report(args, table(results, args.stages), built, time.monotonic() - began)
    args.output.write_text(report)
    print(report)


def _window_seconds(minutes: float) -> float:
    from ingest.engines import windows

    return minutes * 60 or windows.WINDOW_SECONDS


def _report(args: argparse.Namespace, body: str, built: float, total: float) -> str:
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.platform()}"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    command = f".venv/bin/python -m bench.longfile --minutes {args.minutes} --takes {args.takes} --stages {args.stages}"
    command += f" --window {args.window:g}" if args.window else ""
    window = _window_seconds(args.window) / 60
    return (
        f"# Long files: peak memory, old way against new\n\n{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{machine}, Python {platform.python_version()}; load average at the end {load}.\n\n    {command}\n\n"
        f"New way: windows of {window:g} min. Medians over {args.takes} takes; building the audio took {built:.0f} s, "
        f"the whole run {total / 60:.1f} min.\n\n{body}\n"
    )


if __name__ == "__main__":
    main()
