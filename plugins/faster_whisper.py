"""The faster-whisper engine (CTranslate2): int8 on CPU, float16 on CUDA.

Models stay loaded between jobs, keyed by weights, device and compute type.
"""

from __future__ import annotations

import threading
from typing import Any

import structlog

from ingest import weights
from ingest.models import Audio, Job, Segment, Transcript, Word
from ingest.plugins import EngineInfo, hookimpl

log = structlog.get_logger(__name__)

NAME = "faster-whisper"
_lock = threading.Lock()
_loaded: dict[tuple[str, str, int, str, int], Any] = {}


def cuda_devices() -> int:
    import ctranslate2

    try:
        return ctranslate2.get_cuda_device_count()
    except RuntimeError:  # CUDA driver missing or broken: CPU only
        return 0


def device_of(setting: str) -> tuple[str, int]:
    """``auto``/``cpu``/``cuda``/``cuda:N`` → (device, index)."""
    if setting == "auto":
        return ("cuda", 0) if cuda_devices() else ("cpu", 0)
    kind, _, index = setting.partition(":")
    return kind, int(index or 0)


def compute_type_of(setting: str, device: str) -> str:
    if setting != "auto":
        return setting
    return "float16" if device == "cuda" else "int8"


def load(ref: weights.ModelRef, device: str, index: int, compute_type: str, threads: int) -> Any:
    """The loaded model for these options, loading it on first use."""
    from faster_whisper import WhisperModel

    key = (ref.location, device, index, compute_type, threads)
    with _lock:
        if key not in _loaded:
            log.info(
                "model_loading",
                engine=NAME,
                model=ref.name,
                source=ref.source,
                location=ref.location,
                device=f"{device}:{index}",
                compute_type=compute_type,
            )
            _loaded[key] = WhisperModel(
                ref.location,
                device=device,
                device_index=index,
                compute_type=compute_type,
                cpu_threads=threads,
            )
        return _loaded[key]


def unload_all() -> None:
    with _lock:
        _loaded.clear()


@hookimpl
def ingest_engines() -> list[EngineInfo]:
    gpus = cuda_devices()
    return [EngineInfo(NAME, True, f"CPU int8; {gpus} CUDA device(s)" if gpus else "CPU int8; no CUDA device")]


@hookimpl(trylast=True)
def ingest_transcribe(job: Job, audio: Audio) -> Transcript | None:
    if job.options.engine != NAME:
        return None
    opts = job.options
    ref = weights.resolve(opts.model, opts.models_dir)
    device, index = device_of(opts.device)
    compute_type = compute_type_of(opts.compute_type, device)
    model = load(ref, device, index, compute_type, opts.cpu_threads)
    segments, info = model.transcribe(
        audio.samples,
        language=opts.language,
        task=opts.task,
        beam_size=opts.beam_size,
        word_timestamps=True,
        initial_prompt=opts.initial_prompt,
        hotwords=" ".join(opts.hotwords) or None,
    )
    collected = tuple(_collect(segments, job, float(info.duration)))
    return Transcript(
        language=info.language,
        language_probability=float(info.language_probability),
        duration=float(info.duration),
        segments=collected,
        engine=NAME,
        model=ref.name,
        task=opts.task,
    )


def _collect(segments: Any, job: Job, total: float) -> Any:
    for seg in segments:  # a generator: decoding happens as we iterate
        if job.progress:
            job.progress(float(seg.end), total)
        yield Segment(
            start=float(seg.start),
            end=float(seg.end),
            text=seg.text,
            words=tuple(Word(float(w.start), float(w.end), w.word, float(w.probability)) for w in seg.words or ()),
            avg_logprob=float(seg.avg_logprob),
            no_speech_prob=float(seg.no_speech_prob),
            compression_ratio=float(seg.compression_ratio),
        )
