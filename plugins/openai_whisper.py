"""The openai-whisper engine (PyTorch): float16 on CUDA, float32 on CPU.

It takes openai-whisper's own checkpoints (its download cache or a ``.pt`` path),
or CTranslate2 weights converted once (``ingest.convert``). openai-whisper has no
hotwords; they are added to the initial prompt as a glossary, which is how Whisper
models are primed with vocabulary.

Like faster-whisper, it decodes only the VAD regions (``clip_timestamps``), judges the
language on speech spread over the file (``ingest.langdetect``), and decodes a long file in
windows cut in silence (``ingest.windows``): openai-whisper, too, computes the log-mel
features of all it is given at once.

It is driven to read as faster-whisper does on the same weights (issue 16,
``bench/engine_parity.py``): the same decoding options (stated, though they are both
engines' defaults), clip ends held to the last whole feature frame (``clip_timestamps``),
faster-whisper's pick when every fallback temperature fails (``_Fallback``), no empty
segments, and one torch thread on two cores (``device.torch_threads``).
"""

from __future__ import annotations

import dataclasses
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
# openai-whisper's and faster-whisper's defaults: the checks that send a window to the next
# temperature (and mark it as silence), stated here because ``_Fallback`` applies them too.
COMPRESSION_RATIO_THRESHOLD = 2.4
LOGPROB_THRESHOLD = -1.0
NO_SPEECH_THRESHOLD = 0.6
HOP = 160  # samples per feature frame (10 ms at 16 kHz)


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
    if plan.device == "cpu":
        device.torch_threads(opts.cpu_threads)
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
    clips = clip_timestamps(window.audio)
    result = _run(model, window.audio, job.options, language, plan, clips) if clips != [] else {"segments": []}
    if job.progress and window.end < total:
        job.progress(window.end, total)
    # openai-whisper keeps a segment it emptied (no text, or no duration); faster-whisper drops it.
    return [_segment(s) for s in result["segments"] if s["text"].strip() and s["end"] > s["start"]]


def clip_timestamps(audio: Audio) -> list[float] | str:
    """The speech regions as openai-whisper's ``clip_timestamps`` ("0": all of it).

    openai-whisper rounds a clip's end to a feature frame but, unlike faster-whisper, never
    holds it to the last one: a region ending at the file's (or window's) end, in the second
    half of a frame, ends one frame past the features. Reaching that frame it decodes no audio
    at all (the prompt echoed back as an instantaneous, emptied segment) without moving on, over
    and over (issue 16: the empty segments repeated at a clip's end). Ends are held to the last
    whole frame here, and clips left without a frame are dropped: ``[]`` means nothing to decode.
    """
    if audio.speech is None:
        return "0"
    last = len(audio.samples) // HOP  # openai-whisper's content frames
    held = [(s, min(e, last / 100)) for s, e in audio.speech]
    return [t for s, e in held if round(s * 100) < round(e * 100) for t in (s, e)]


def _run(
    model: Any, audio: Audio, opts: JobOptions, language: str, plan: device.Plan, clips: list[float] | str
) -> dict[str, Any]:
    """One window; a fallback temperature samples from torch's generator, seeded here for
    this window alone (and given back after), so a file decodes the same every time."""
    import torch

    with torch.random.fork_rng(devices=[plan.index] if plan.device == "cuda" else []):
        torch.manual_seed(opts.seed)
        return _decode(model, audio, opts, language, plan, clips)


def _decode(
    model: Any, audio: Audio, opts: JobOptions, language: str, plan: device.Plan, clips: list[float] | str
) -> dict[str, Any]:
    import whisper

    temperatures = tuple(opts.temperatures)
    return whisper.transcribe(
        _Fallback(model, temperatures),
        audio.samples,
        language=language,
        task=opts.task,
        beam_size=opts.beam_size,
        best_of=BEST_OF,
        temperature=temperatures,
        compression_ratio_threshold=COMPRESSION_RATIO_THRESHOLD,
        logprob_threshold=LOGPROB_THRESHOLD,
        no_speech_threshold=NO_SPEECH_THRESHOLD,
        condition_on_previous_text=True,
        word_timestamps=True,
        initial_prompt=prompt(opts),
        fp16=plan.device == "cuda",
        verbose=None,
        clip_timestamps=clips,
    )


class _Fallback:
    """The model, except for what a window gets when every temperature fails its checks.

    openai-whisper then keeps the last decode (sampled at the highest temperature);
    faster-whisper keeps the best: the highest average log-probability among the decodes
    that passed the compression check (else among all), given the last temperature (which
    resets the prompt). This proxy makes openai-whisper's ``transcribe`` do the same: it
    sees each decode of a window (one mel segment, temperature after temperature) and
    answers the last with the best. Everything else goes to the model.
    """

    def __init__(self, model: Any, temperatures: tuple[float, ...]):
        self.model, self.temperatures = model, temperatures
        self.segment: Any = None
        self.tried: list[Any] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:  # word timing runs the model itself
        return self.model(*args, **kwargs)

    def decode(self, segment: Any, options: Any) -> Any:
        if segment is not self.segment:  # a new window
            self.segment, self.tried = segment, []
        result = self.model.decode(segment, options)
        self.tried.append(result)
        if len(self.tried) < len(self.temperatures) or not all(map(failed, self.tried)):
            return result
        passed = [r for r in self.tried if r.compression_ratio <= COMPRESSION_RATIO_THRESHOLD]
        best = max(passed or self.tried, key=lambda r: r.avg_logprob)
        return dataclasses.replace(best, temperature=result.temperature)


def failed(result: Any) -> bool:
    """openai-whisper's (and faster-whisper's) test for trying the next temperature."""
    low = result.avg_logprob < LOGPROB_THRESHOLD
    if low and result.no_speech_prob > NO_SPEECH_THRESHOLD:
        return False  # silence: kept, and dropped as such
    return low or result.compression_ratio > COMPRESSION_RATIO_THRESHOLD


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
