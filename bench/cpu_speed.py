"""The fastest CPU path that reads as well (issue 16, point 3): ingest's engine paths against
the bare engine and openai-whisper, side by side in one run, same weights, same audio.

Each measurement is a fresh process: it loads the model, warms up once on the file, then
times one transcription (word timestamps on everywhere, language given, beam 5). Rounds
alternate the variants so machine noise hits all of them; the table shows medians and the
WER of the last round (every round decodes the same samples the same way).

- ingest ...: the engine plugin as the daemon calls it, on the VAD regions (default
  ``[speech]``) in windows, with its decoding options; ``batched``: ``batch_size = 8``
  (faster-whisper's ``BatchedInferencePipeline`` over the VAD clips, cut in silence, up to 30 s).
- bare ...: ``WhisperModel.transcribe(samples)`` with its defaults, and its
  ``BatchedInferencePipeline`` (batch 8; it runs its own VAD), on the same local weights.
- openai-whisper: ingest's openai-whisper plugin, float32, on the same weights converted.

    .venv/bin/python -m bench.cpu_speed [--rounds 3] [--model base] [--threads 2] [--files talk,dialogue]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.quality import metrics, sounds
from bench.quality.variants import Builder, write_wav

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = (
    "ingest int8",
    "ingest float32",
    "ingest int8 batched",
    "ingest float32 batched",
    "bare int8",
    "bare int8 batched",
    "openai-whisper float32",
)
TALK_VOICES = ("en-us+m3", "en-gb-x-rp+f4", "en+m7")  # three speakers taking turns


def talk(folder: Path) -> tuple[Path, str]:
    """About 4.5 minutes of three voices taking turns, every sentence said once."""
    from bench.pipeline_overhead import LECTURE

    sentences = [s.strip() + "." for s in LECTURE.split(". ") if s.strip(". ")]
    sentences += [*sounds.DIALOGUE, *sounds.CROWD_TEXT, *_MORE]
    pause = np.zeros(int(0.7 * sounds.RATE), dtype=np.float32)
    parts = [p for n, s in enumerate(sentences) for p in (sounds.espeak(s, TALK_VOICES[n % 3], 160), pause)]
    samples = np.concatenate(parts)
    return write_wav(folder / "talk.wav", samples * (0.89 / np.max(np.abs(samples)))), " ".join(sentences)


_MORE = (
    "The next question came from the back of the room and it was about the price of disks.",
    "Prices have fallen every year, but the amount of video we keep has grown even faster.",
    "A family with two children can fill a large drive with phone videos in a single summer.",
    "That is why the second copy matters more than the speed of the first one.",
    "Some people use a friend's house as the place where the third copy lives.",
    "Others pay a small monthly fee and send an encrypted copy to a storage company.",
    "Either way, the important part is to test a restore before you actually need it.",
    "We will try a restore together after the break, so please bring your laptops back.",
    "Before that, let us look at how the files are named and how the folders are arranged.",
    "A media server finds subtitles by their names, so a careless name means no subtitles.",
    "The language code goes between the name of the film and the ending of the file.",
    "Forced subtitles, the ones for foreign dialogue only, get one more word in the name.",
    "Now let us talk about the noise a small server makes in a quiet living room at night.",
    "Fans that spin slowly are quieter, and a disk that sleeps makes no noise at all.",
    "But a disk that wakes up every few minutes wears out sooner than one that keeps spinning.",
    "So the right setting depends on how often the family actually watches something.",
    "Thank you all for coming tonight, and see you next week for the session on backups.",
    "Please leave the chairs where they are, the cleaners will stack them in the morning.",
)


def files(names: list[str], folder: Path) -> list[tuple[str, Path, str]]:
    found = []
    for name in names:
        if name == "talk":
            path, text = talk(folder)
            found.append(("talk (3 voices)", path, text))
        else:  # a bench/quality source, in pink noise at 10 dB
            speech = {"jfk": sounds.jfk, "dialogue": sounds.dialogue}[name]()
            variant = Builder(speech, folder / name).mixed("noise", 10)
            found.append((variant.label, variant.path, variant.reference))
    return found


def worker(variant: str, model: str, path: str, threads: int) -> None:
    """In a child: load, warm up, time one transcription, print JSON on stdout."""
    from ingest import log

    log.setup("warning", "json", sys.stderr)
    run = _bare if variant.startswith("bare") else _ingest
    run(variant, model, path, threads)  # warm-up (and model load)
    start = time.perf_counter()
    text, duration = run(variant, model, path, threads)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "audio": duration, "text": text}))


def _ingest(variant: str, model: str, path: str, threads: int) -> tuple[str, float]:
    from faster_whisper import decode_audio

    from ingest.media import vad
    from ingest.models import Audio, AudioTrack, Job, JobOptions
    from ingest.settings import SpeechSettings

    engine, compute, *batched = variant.split()
    if engine == "openai-whisper":
        from ingest_plugins import openai_whisper as plugin
    else:
        from ingest_plugins import faster_whisper as plugin
    track = AudioTrack(0, "pcm", 1, "mono", None, True)
    audio = vad.detect(Audio(decode_audio(path, sampling_rate=16000), 16000, track), SpeechSettings())
    options = JobOptions(
        engine="openai-whisper" if engine == "openai-whisper" else "faster-whisper",
        model=model,
        device="cpu",
        compute_type=compute,
        batch_size=8 if batched else 1,
        cpu_threads=threads,
        language="en",
    )
    transcript = plugin.ingest_transcribe(job=Job(Path(path), options), audio=audio)
    return transcript.text, audio.duration


def _bare(variant: str, model: str, path: str, threads: int) -> tuple[str, float]:
    from faster_whisper import BatchedInferencePipeline, WhisperModel, decode_audio

    from ingest.engines import weights

    _, compute, *batched = variant.split()
    ref = weights.resolve(model, weights.default_models_dir())
    engine = _BARE.get((ref.location, compute)) or WhisperModel(ref.location, compute_type=compute, cpu_threads=threads)
    _BARE[(ref.location, compute)] = engine
    samples = decode_audio(path, sampling_rate=16000)
    if batched:
        segments, _ = BatchedInferencePipeline(engine).transcribe(
            samples, batch_size=8, language="en", word_timestamps=True
        )
    else:
        segments, _ = engine.transcribe(samples, language="en", word_timestamps=True)
    return "".join(s.text for s in segments), len(samples) / 16000


_BARE: dict[tuple[str, str], object] = {}


def measure(variant: str, model: str, path: Path, threads: int) -> dict:
    cmd = [sys.executable, "-m", "bench.cpu_speed", "--worker", variant, model, str(path), str(threads)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise RuntimeError(f"{variant} on {path.name} failed ({os.waitstatus_to_exitcode(status)})")
    return {**json.loads(out), "peak_mb": usage.ru_maxrss / 1024}


def table(label: str, reference: str, rows: dict[str, list[dict]]) -> list[str]:
    openai = rows.get("openai-whisper float32")
    slowest = statistics.median(r["seconds"] for r in openai) if openai else None
    lines = []
    for variant, runs in rows.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        wer = metrics.wer(reference, runs[-1]["text"])
        audio = runs[0]["audio"]
        peak = max(r["peak_mb"] for r in runs)
        times = " ".join(f"{r['seconds']:.1f}" for r in runs)
        lines.append(
            f"| {label} | {variant} | {seconds:.1f} ({times}) | {audio / seconds:.1f} | "
            f"{f'{slowest / seconds:.1f}x' if slowest else '-'} | {wer:.3f} | {peak:.0f} |"
        )
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--model", default="base")
    ap.add_argument("--threads", type=int, default=2, help="CPU threads for every variant")
    ap.add_argument("--files", default="talk,dialogue")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        variant, model, path, threads = args.worker
        worker(variant, model, path, int(threads))
        return
    chosen = args.variants.split(",")
    out = [f"{args.rounds} rounds, alternating; model {args.model}, {args.threads} threads, beam 5, language en", ""]
    out += ["| file | variant | seconds, median (rounds) | x real time | vs openai-whisper | WER | peak MB |"]
    out += ["|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for label, path, reference in files(args.files.split(","), Path(tmp)):
            rows: dict[str, list[dict]] = {v: [] for v in chosen}
            for _ in range(args.rounds):
                for variant in chosen:
                    rows[variant].append(measure(variant, args.model, path, args.threads))
            out += table(label, reference, rows)
            print(f"  {label}: done", file=sys.stderr)
    print("\n".join(out))


if __name__ == "__main__":
    main()
