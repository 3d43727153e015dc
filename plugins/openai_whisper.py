"""The openai-whisper engine (PyTorch): float16 on CUDA, float32 on CPU.

It takes openai-whisper's own checkpoints (its download cache or a ``.pt`` path),
or CTranslate2 weights converted once (``ingest.convert``). openai-whisper has no
hotwords; they are added to the initial prompt as a glossary, which is how Whisper
models are primed with vocabulary.

Like faster-whisper, it decodes only the VAD regions (``clip_timestamps``), judges the
language on speech spread over the file (``ingest.langdetect``), and decodes a long file in
windows cut in silence (``ingest.windows``): openai-whisper, too, computes the log-mel
features of all it is given at once.
"""

from __future__ import annotations

import importlib.util
import warnings
from typing import Any

import structlog

from ingest import (
    Audio,
    EngineInfo,
    Job,
    JobOptions,
    ModelRef,
    Segment,
    Transcript,
    Word,
    checkpoints,
    device,
    hookimpl,
    langdetect,
    modelcache,
    windows,
)

log = structlog.get_logger(__name__)

NAME = "openai-whisper"
BEST_OF = 5  # candidates when sampling at a fallback temperature, as faster-whisper does


def torch_device(plan: device.Plan) -> str:
    return f"cuda:{plan.index}" if plan.device == "cuda" else "cpu"


def load(ref: ModelRef, plan: device.Plan) -> Any:
    import whisper

    from ingest import convert

    modelcache.announce(NAME, ref, plan.name, "float16" if plan.device == "cuda" else "float32")
    if ref.path is not None:
        return convert.load(ref.path, torch_device(plan))
    return whisper.load_model(ref.name, device=torch_device(plan))


@hookimpl
def ingest_engines() -> list[EngineInfo]:
    if importlib.util.find_spec("whisper") is None:
        return [EngineInfo(NAME, False, detail="pip install openai-whisper")]
    plan = device.plan("auto")
    return [EngineInfo(NAME, True, plan.name, "float16" if plan.device == "cuda" else "float32")]


@hookimpl(trylast=True)
def ingest_transcribe(job: Job, audio: Audio) -> Transcript | None:
    if job.options.engine != NAME:
        return None
    ref = checkpoints.resolve(job.options.model, job.options.models_dir)
    first = device.plan(job.options.device, 1)  # openai-whisper decodes one window at a time
    return device.run_with_fallback(first, lambda plan: transcribe(job, audio, ref, plan), job.path)


def transcribe(
    job: Job, audio: Audio, ref: ModelRef, plan: device.Plan, window: float = windows.WINDOW_SECONDS
) -> Transcript:
    """One attempt on one device. ``window``: the longest piece decoded at once, in seconds."""
    opts = job.options
    with modelcache.CACHE.use((NAME, ref.location, plan.name), lambda: load(ref, plan)) as model:
        heard = langdetect.decide(opts.language, model.is_multilingual, audio, lambda x: probabilities(model, x))
        if job.language_known:
            job.language_known(heard.language)
        with warnings.catch_warnings():
            # Cues need word times after translate too; faster-whisper gives them without a word.
            warnings.filterwarnings("ignore", "Word-level timestamps on translations", UserWarning)
            language, total = heard.language, audio.duration
            segments = windows.transcribe(audio, lambda w: _window(model, w, job, language, plan, total), window)
    if job.progress:
        job.progress(audio.duration, audio.duration)
    return Transcript(
        language=heard.language,
        language_probability=heard.probability,
        duration=audio.duration,
        segments=segments,
        engine=NAME,
        model=ref.name,
        task=opts.task,
    )


def _window(
    model: Any, window: windows.Window, job: Job, language: str, plan: device.Plan, total: float
) -> list[Segment]:
    """One window decoded, in window time; progress (whole-file seconds) after each window but
    the last, which ``transcribe`` reports (openai-whisper tells nothing while it decodes)."""
    result = _run(model, window.audio, job.options, language, plan)
    if job.progress and window.end < total:
        job.progress(window.end, total)
    return [_segment(s) for s in result["segments"]]


def _run(model: Any, audio: Audio, opts: JobOptions, language: str, plan: device.Plan) -> dict[str, Any]:
    """One window; a fallback temperature samples from torch's generator, seeded here for
    this window alone (and given back after), so a file decodes the same every time."""
    import torch

    with torch.random.fork_rng(devices=[plan.index] if plan.device == "cuda" else []):
        torch.manual_seed(opts.seed)
        return _decode(model, audio, opts, language, plan)


def _decode(model: Any, audio: Audio, opts: JobOptions, language: str, plan: device.Plan) -> dict[str, Any]:
    return model.transcribe(
        audio.samples,
        language=language,
        task=opts.task,
        beam_size=opts.beam_size,
        best_of=BEST_OF,
        temperature=tuple(opts.temperatures),
        word_timestamps=True,
        initial_prompt=prompt(opts),
        fp16=plan.device == "cuda",
        verbose=None,
        clip_timestamps=[t for region in audio.speech for t in region] if audio.speech is not None else "0",
    )


def probabilities(model: Any, samples: Any) -> dict[str, float]:
    """Language probabilities of one window (the first 30 s of ``samples``)."""
    import whisper

    window = whisper.pad_or_trim(samples)
    mel = whisper.log_mel_spectrogram(window, model.dims.n_mels).to(model.device)
    _, probs = model.detect_language(mel)
    return {language: float(p) for language, p in probs.items()}


def prompt(opts: JobOptions) -> str | None:
    glossary = f"Glossary: {', '.join(opts.hotwords)}." if opts.hotwords else None
    return " ".join(p for p in (opts.initial_prompt, glossary) if p) or None


def _segment(seg: dict[str, Any]) -> Segment:
    words = tuple(
        Word(float(w["start"]), float(w["end"]), w["word"], float(w.get("probability", 1.0)))
        for w in seg.get("words", ())
    )
    return Segment(
        start=float(seg["start"]),
        end=float(seg["end"]),
        text=seg["text"],
        words=words,
        avg_logprob=float(seg["avg_logprob"]),
        no_speech_prob=float(seg["no_speech_prob"]),
        compression_ratio=float(seg["compression_ratio"]),
    )
