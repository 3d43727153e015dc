"""Who speaks when, with pyannote.audio: the ``builtin`` offline pipeline, a folder, or a hub id.

The pipeline stays loaded between jobs in the shared model cache, keyed by model and
device. A CUDA out-of-memory error retries the file on the CPU. Settings live in
``[diarize]`` and reach the hook through ``job.options``; only the model hub token
does not (it is a secret, kept out of job options), so ``ingest_startup`` keeps it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import structlog

from ingest import Audio, Job, SpeakerTurn, device, hookimpl, modelcache

if TYPE_CHECKING:
    from ingest import Settings

log = structlog.get_logger(__name__)

NAME = "pyannote"
# Set once at startup, read by every job: ingest_diarize sees only (job, audio).
_hf_token: str | None = None


@hookimpl
def ingest_startup(settings: Settings) -> None:
    global _hf_token
    _hf_token = settings.hf_token.get_secret_value() if settings.hf_token else None


@hookimpl(trylast=True)
def ingest_diarize(job: Job, audio: Audio) -> list[SpeakerTurn] | None:
    if not job.options.diarize:
        return None
    chosen = device.plan(job.options.diarize_device)
    first = device.Plan(chosen.device, chosen.index)  # batch 1: an out-of-memory GPU goes straight to the CPU
    return device.run_with_fallback(first, lambda plan: diarize(job, audio, plan), job.path)


def diarize(job: Job, audio: Audio, plan: device.Plan) -> list[SpeakerTurn]:
    """One attempt on one device; the pipeline is held in the cache while it runs."""
    from ingest import diarization

    opts = job.options

    def load() -> Any:
        return diarization.load_pipeline(opts.diarize_model, opts.models_dir, plan.name, _hf_token)

    with modelcache.CACHE.use((NAME, opts.diarize_model, plan.name), load) as pipeline:
        output = pipeline(
            {"waveform": _waveform(audio), "sample_rate": audio.sample_rate},
            num_speakers=opts.num_speakers,
            min_speakers=opts.min_speakers,
            max_speakers=opts.max_speakers,
        )
    # Exclusive: at most one speaker at any instant, so every word lands in exactly one turn
    # (in overlapped speech pyannote keeps the speaker most likely to be talking).
    turns = sorted(
        (
            SpeakerTurn(float(segment.start), float(segment.end), str(label))
            for segment, _, label in output.exclusive_speaker_diarization.itertracks(yield_label=True)
        ),
        key=lambda t: (t.start, t.end, t.speaker),
    )
    log.info("diarized", file=str(job.path), speakers=len({t.speaker for t in turns}), turns=len(turns))
    return turns


def _waveform(audio: Audio) -> Any:
    """(1, samples) float32 tensor; copied only when the array is read-only (torch warns on those)."""
    import torch

    samples = np.asarray(audio.samples, dtype=np.float32)
    if not samples.flags.writeable:
        samples = samples.copy()
    return torch.from_numpy(samples)[None]
