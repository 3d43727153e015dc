"""One job through the stages. The only broad ``except`` in ingest lives here.

Each stage is a short function that calls one hook or one module and returns a new
value. A failure of any stage fails this job alone, with the file and the cause.
``prepare`` and ``complete`` return the job's result and tell no one; the caller records
it (the daemon's worker, in its ledger) and then calls ``announce``: the summary line,
then the plugins. ``run`` does all three for a one-shot ``ingest process``.

A file with no speech in it (VAD found none, or the hallucination filters left no word)
ends ``skipped`` with the reason "no speech found" and writes nothing: an empty or
invented subtitle file beside a film is worse than none, players list it as a track.
The ledger records the reason, ``ingest status`` shows it, and a drop folder moves the
file to done/.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import structlog

from ingest.errors import Cancelled, IngestError, MediaError, Skipped, StageError
from ingest.media import extract as audio_mod
from ingest.media import probe as probe_mod
from ingest.media import vad
from ingest.models import Audio, Job, JobResult, MediaFile, Transcript
from ingest.plugins import Host
from ingest.settings import Settings
from ingest.subtitles import cues as cues_mod
from ingest.subtitles import outputs
from ingest.transcript import bounds, hallucination, speakers

log = structlog.get_logger(__name__)
T = TypeVar("T")


class Stopwatch:
    """Wall time per stage, in the order the stages ran: ``with watch("probe"): ...``."""

    def __init__(self) -> None:
        self._timings: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self._timings[stage] = self._timings.get(stage, 0.0) + time.perf_counter() - start

    @property
    def timings(self) -> dict[str, float]:
        """A copy as of now: a result keeps what was measured, not a view that grows."""
        return dict(self._timings)


@dataclass(frozen=True)
class Prepared:
    """A job whose audio is decoded: the half a worker can do ahead of the engine."""

    job: Job
    audio: Audio
    stopwatch: Stopwatch


def run(job: Job, settings: Settings, host: Host) -> JobResult:
    """Process one file, announce the outcome, return it; never raises for a bad file."""
    first = prepare(job, settings, host)
    result = first if isinstance(first, JobResult) else complete(first, settings, host)
    announce(host, job, result)
    return result


def prepare(job: Job, settings: Settings, host: Host) -> Prepared | JobResult:
    """Probe, accept, preflight, extract. A ``JobResult`` when the job ended here."""
    watch = Stopwatch()
    return _guard(job, watch, lambda: _prepare(job, settings, host, watch))


def complete(prepared: Prepared, settings: Settings, host: Host) -> JobResult:
    """Transcribe, build cues, write: the rest of a prepared job."""
    return _guard(prepared.job, prepared.stopwatch, lambda: _complete(prepared, settings, host))


def _guard(job: Job, watch: Stopwatch, body: Callable[[], T]) -> T | JobResult:
    """The job boundary: whatever a stage raises becomes this job's result, nothing more.
    Recording and announcing the result is the caller's (``announce``)."""
    with structlog.contextvars.bound_contextvars(file=str(job.path)):
        try:
            return body()
        except Skipped as skip:
            result = JobResult(job.path, "skipped", error=skip.reason, timings=watch.timings)
        except Cancelled as exc:
            result = JobResult(job.path, "cancelled", error=str(exc), timings=watch.timings)
        except MediaError as exc:  # a permanent one is final on any attempt: retrying cannot help
            result = JobResult(job.path, "failed", error=str(exc), timings=watch.timings, final=exc.permanent)
        except IngestError as exc:
            result = JobResult(job.path, "failed", error=str(exc), timings=watch.timings, final=False)
        except Exception as exc:  # the job boundary: one bad file never stops the rest
            log.exception("job_crashed")
            error = f"{job.path}: unexpected error: {exc!r}"
            result = JobResult(job.path, "failed", error=error, timings=watch.timings, final=False)
        if result.status == "failed" and job.last_attempt:
            result = replace(result, final=True)
        return result


def announce(host: Host, job: Job, result: JobResult) -> None:
    """Tell the world how a job ended: the summary line, then the plugins. The daemon calls
    this only after the ledger holds the outcome, so a ``job_done`` line or a notification
    always means a recorded job. A cancelled job runs again later: no plugin hears of it."""
    with structlog.contextvars.bound_contextvars(file=str(job.path)):
        _summary(result)
        if result.status != "cancelled":
            finish(host, job, result)


def _prepare(job: Job, settings: Settings, host: Host, watch: Stopwatch) -> Prepared:
    with watch("probe"):
        media = probe_mod.probe(job.path)
    job = replace(job, media=media)
    accept(host, media, job)
    preflight(job)
    with watch("extract"):
        audio = extract(job, media, settings)
    with watch("vad"):
        audio = vad.detect(audio, settings.speech)
    if audio.speech == ():  # ends here, in the preparer: nothing for the engine to wait in line for
        raise Skipped("no speech found by voice activity detection; nothing written ([speech] vad = false hears all)")
    return Prepared(job, audio, watch)


def _complete(prepared: Prepared, settings: Settings, host: Host) -> JobResult:
    job, audio, watch = prepared.job, prepared.audio, prepared.stopwatch
    with watch("transcribe"):
        transcript = transcribe(host, job, audio)
    with watch("filter"):
        transcript = screen(transcript, audio, settings)
    if job.options.diarize:
        with watch("diarize"):
            transcript = diarize(host, job, audio, transcript)
    with watch("cues"):
        cues = cues_mod.build_cues(transcript.words, settings.cues, audio.duration)
    transcript = replace(transcript, cues=cues, timings=watch.timings)
    with watch("write"):
        written = write(host, job, transcript)
    return JobResult(
        job.path,
        "done",
        outputs=tuple(written),
        language=transcript.output_language,
        duration=audio.duration,
        timings=watch.timings,
        transcript=transcript,
    )


def accept(host: Host, media: MediaFile, job: Job) -> None:
    for answer in host.hook.ingest_accept(media=media, job=job):
        if answer is False or isinstance(answer, str):
            raise Skipped(answer or "declined by a plugin")


def preflight(job: Job) -> None:
    """Refuse early what would fail at the end: an unwritable folder, a taken name."""
    folder = job.options.output_dir or job.path.parent
    outputs.check_folder(job.path, folder)
    language = job.options.output_language
    # Before the language is known, judge the names with a three-letter code (as long as any).
    names = targets(job, language or "und")
    outputs.check_names(job, names)
    if language:
        outputs.check_free(job, names)


def extract(job: Job, media: MediaFile, settings: Settings) -> Audio:
    preferred = list(settings.audio.track_languages)
    if not preferred and job.options.language:
        preferred = [job.options.language]
    track = probe_mod.choose_track(media, preferred)
    result = audio_mod.extract(media, track, settings.audio)
    log.debug(
        "audio_extracted",
        track=track.index,
        language=track.language,
        centre=audio_mod.uses_centre(track, settings.audio),
        seconds=round(result.duration, 2),
    )
    return result


def targets(job: Job, language: str) -> list[Path]:
    """The sidecars of ``job`` for text in ``language``, one per format."""
    return [outputs.target(job, language, fmt) for fmt in job.options.formats]


def transcribe(host: Host, job: Job, audio: Audio) -> Transcript:
    def known(language: str) -> None:  # the engine's call, between language and decode
        outputs.check_free(job, targets(job, job.options.output_language or language))

    transcript = host.hook.ingest_transcribe(job=replace(job, language_known=known), audio=audio)
    if transcript is None:
        raise StageError("transcribe", job.path, f"no engine named {job.options.engine!r} is loaded")
    return transcript


def screen(transcript: Transcript, audio: Audio, settings: Settings) -> Transcript:
    """The hallucination filters, then segment times fitted to their words; a transcript
    left with no words skips the job."""
    kept = bounds.fit(hallucination.apply(replace(transcript, speech=audio.speech), settings.filters))
    if not kept.words:
        dropped = ", ".join(f"{reason} {n}" for reason, n in kept.filtered.items() if n)
        why = f"the filters removed every word ({dropped})" if dropped else "the engine heard no words"
        raise Skipped(f"no speech found: {why}; nothing written")
    return kept


def diarize(host: Host, job: Job, audio: Audio, transcript: Transcript) -> Transcript:
    """Who spoke each word; segments split where the speaker changes."""
    turns = host.hook.ingest_diarize(job=job, audio=audio)
    if turns is None:
        raise StageError("diarize", job.path, "no diarizer plugin is loaded (the built-in one is 'pyannote')")
    return speakers.assign(transcript, turns, job.options.speaker_names)


def write(host: Host, job: Job, transcript: Transcript) -> list:
    if not os.path.lexists(job.path):  # subtitles beside nothing would be read as a user's, later
        raise Skipped("deleted while it was transcribed; nothing written")
    outputs.check_free(job, targets(job, transcript.output_language))
    with outputs.rollback_on_error():
        written = [p for paths in host.hook.ingest_write_outputs(job=job, transcript=transcript) for p in paths]
    return sorted(written)


def finish(host: Host, job: Job, result: JobResult) -> None:
    """Tell every plugin; a plugin that raises is logged and changes nothing."""
    for impl in reversed(host.hook.ingest_job_finished.get_hookimpls()):
        kwargs = {"job": job, "result": result}
        try:
            impl.function(**{name: kwargs[name] for name in impl.argnames})
        except Exception as exc:  # noqa: BLE001 - the plugin boundary: log, never fail the job
            log.error("plugin_hook_failed", plugin=impl.plugin_name, hook="ingest_job_finished", error=repr(exc))


def _summary(result: JobResult) -> None:
    timings = {k: round(v, 3) for k, v in result.timings.items()}
    total = round(sum(result.timings.values()), 3)
    event = f"job_{result.status}"
    emit = log.warning if result.status == "failed" else log.info
    emit(
        event,
        status=result.status,
        language=result.language,
        media_seconds=round(result.duration, 2),
        seconds=total,
        rtf=round(total / result.duration, 4) if result.duration else None,
        timings=timings,
        outputs=[str(p) for p in result.outputs],
        error=result.error,
        **({"final": result.final} if result.status == "failed" else {}),
        **_speech_summary(result.transcript),
    )


def _speech_summary(transcript: Transcript | None) -> dict[str, object]:
    """Seconds of speech and the words each filter removed, for the summary line."""
    if transcript is None:
        return {}
    speech = None if transcript.speech is None else round(vad.total(transcript.speech), 2)
    return {"speech_seconds": speech, "filtered": dict(transcript.filtered)}
