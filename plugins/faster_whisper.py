"""The faster-whisper engine (CTranslate2): int8 on CPU, float16 on CUDA.

On a GPU it runs faster-whisper's batched pipeline; a CUDA out-of-memory error
retries the file with a smaller batch, then on the CPU. Models stay loaded between
jobs in the shared model cache.

Only speech is decoded: the VAD regions on ``Audio.speech`` go to the engine as
``clip_timestamps``, which keeps the file's own times. Measured against decoding the
regions joined end to end (faster-whisper's own ``vad_filter`` way) on JFK twice between
music, pink noise and silence (97 s, tiny.en, 2 threads): joining took 1.3 s against
2.5 s, but cut "ask" at a join and put the first word 0.4 s early; clips were word-perfect.
The language is judged on speech spread over the file (``ingest.langdetect``), once; then
the file is decoded in windows of at most ``windows.WINDOW_SECONDS``, cut in silence
(``ingest.windows``), so the features of a 10-hour file are never computed at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import structlog

from ingest import (
    Audio,
    EngineInfo,
    Job,
    Segment,
    Transcript,
    Word,
    device,
    hookimpl,
    langdetect,
    modelcache,
    vad,
    weights,
    windows,
)

log = structlog.get_logger(__name__)

NAME = "faster-whisper"


def compute_type_of(setting: str, device_name: str) -> str:
    if setting != "auto":
        return setting
    return "float16" if device_name == "cuda" else "int8"


def load(ref: weights.ModelRef, plan: device.Plan, compute_type: str, threads: int, seed: int = 0) -> Any:
    import ctranslate2
    from faster_whisper import WhisperModel

    modelcache.announce(NAME, ref, plan.name, compute_type)
    # CTranslate2 seeds each decoding thread once, when it first samples: a model loaded
    # after this samples the same way in every process (a fallback that samples goes on
    # drawing from that stream, file after file, while the model stays loaded).
    ctranslate2.set_random_seed(seed)
    model = WhisperModel(
        ref.location, device=plan.device, device_index=plan.index, compute_type=compute_type, cpu_threads=threads
    )
    model.model = SamplingWatch(model.model)
    return model


class SamplingWatch:
    """The CTranslate2 model, noting whether a decode sampled (a fallback temperature above 0).

    Its random stream lives in the model's own decoding thread, seeded when the model is
    loaded: once drawn from, the next file would sample differently than it would in a fresh
    process, so ``transcribe`` has the cache load the model again for the next job. Measured
    on this project's voice-like beds, the fallback is worth keeping: without it (temperature
    0 only) a decode that loops on "ah, ah, ah" conditions every later window on the loop and
    a whole 60-s dialogue was lost (WER 1.0 against 0.17 with the fallback).
    """

    def __init__(self, model: Any) -> None:
        self._model = model
        self.sampled = False

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        self.sampled = self.sampled or kwargs.get("sampling_topk", 1) != 1  # 1: the best token, no draw
        return self._model.generate(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


@hookimpl
def ingest_engines() -> list[EngineInfo]:
    plan = device.plan("auto")
    return [EngineInfo(NAME, True, plan.name, compute_type_of("auto", plan.device))]


@hookimpl(trylast=True)
def ingest_transcribe(job: Job, audio: Audio) -> Transcript | None:
    if job.options.engine != NAME:
        return None
    ref = weights.resolve(job.options.model, job.options.models_dir)
    first = device.plan(job.options.device, job.options.batch_size)
    return device.run_with_fallback(first, lambda plan: transcribe(job, audio, ref, plan, first), job.path)


def transcribe(
    job: Job,
    audio: Audio,
    ref: weights.ModelRef,
    plan: device.Plan,
    first: device.Plan,
    window: float = windows.WINDOW_SECONDS,
) -> Transcript:
    """One attempt on one device; the model is held in the cache for the whole decode.
    ``window``: the longest piece decoded at once, in seconds (tests make it short)."""
    opts = job.options
    # A compute type chosen for the GPU means nothing on the CPU we fell back to.
    compute_type = compute_type_of(opts.compute_type if plan.device == first.device else "auto", plan.device)
    key = (NAME, ref.location, plan.device, plan.index, compute_type, opts.cpu_threads, opts.seed)
    with modelcache.CACHE.use(key, lambda: load(ref, plan, compute_type, opts.cpu_threads, opts.seed)) as model:
        heard = langdetect.decide(opts.language, model.model.is_multilingual, audio, lambda x: _probe(model, x))
        if job.language_known:
            job.language_known(heard.language)
        language, total = heard.language, audio.duration
        collected = windows.transcribe(audio, lambda w: _speech_only(model, w, job, plan, language, total), window)
        if model.model.sampled:  # the next job starts from the seed again, as in a fresh process
            modelcache.CACHE.retire(key)
    return Transcript(
        language=heard.language,
        language_probability=heard.probability,
        duration=audio.duration,
        segments=collected,
        engine=NAME,
        model=ref.name,
        task=opts.task,
    )


def _probe(model: Any, samples: Any) -> dict[str, float]:
    _, _, probabilities = model.detect_language(audio=samples)
    return dict(probabilities)


def _speech_only(
    model: Any, window: windows.Window, job: Job, plan: device.Plan, language: str, total: float
) -> tuple[Segment, ...]:
    """One window decoded (its segments in window time); progress in the whole file's seconds."""
    segments, _ = _decode(model, window.audio, job, plan, language)
    return tuple(_collect(segments, job, window.start, total))


def _decode(model: Any, audio: Audio, job: Job, plan: device.Plan, language: str) -> tuple[Any, Any]:
    opts = job.options
    common = dict(
        language=language,
        task=opts.task,
        beam_size=opts.beam_size,
        temperature=list(opts.temperatures),
        word_timestamps=True,
        initial_prompt=opts.initial_prompt,
        hotwords=" ".join(opts.hotwords) or None,
    )
    if plan.batch_size > 1:
        from faster_whisper import BatchedInferencePipeline

        if audio.speech is not None:  # its clips are dicts, and it hears only 30 s of each
            # Ends rounded to the millisecond may pass the last sample; the pipeline then asserts.
            ends = [(s, min(e, audio.duration)) for s, e in vad.clips(audio.speech, 30.0, audio.pauses or ())]
            common["clip_timestamps"] = [{"start": s, "end": e} for s, e in ends if e > s]
        return BatchedInferencePipeline(model).transcribe(audio.samples, batch_size=plan.batch_size, **common)
    if audio.speech is not None:
        common["clip_timestamps"] = [t for region in audio.speech for t in region]
    return model.transcribe(audio.samples, **common)


def _collect(segments: Any, job: Job, offset: float, total: float) -> Iterator[Segment]:
    for seg in segments:  # a generator: decoding happens as we iterate
        if job.progress:
            job.progress(offset + float(seg.end), total)
        yield Segment(
            start=float(seg.start),
            end=float(seg.end),
            text=seg.text,
            words=tuple(Word(float(w.start), float(w.end), w.word, float(w.probability)) for w in seg.words or ()),
            avg_logprob=float(seg.avg_logprob),
            no_speech_prob=float(seg.no_speech_prob),
            compression_ratio=float(seg.compression_ratio),
        )
