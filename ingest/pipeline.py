"""One job through the stages. The only broad ``except`` in ingest lives here.

Each stage is a short function that calls one hook or one module and returns a new
value. A failure of any stage fails this job alone, with the file and the cause.

A file with no speech in it (VAD found none, or the hallucination filters left no word)
ends ``skipped`` with the reason "no speech found" and writes nothing: an empty or
invented subtitle file beside a film is worse than none, players list it as a track.
The ledger records the reason, ``ingest status`` shows it, and a drop folder moves the
file to done/.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

import structlog

from ingest.errors import Cancelled, IngestError, Skipped, StageError
from ingest.media import extract as audio_mod
from ingest.media import probe as media_mod
from ingest.media import vad
from ingest.models import Audio, Job, JobResult, MediaFile, Transcript
from ingest.plugins import Host
from ingest.settings import Settings
from ingest.subtitles import cues as cues_mod
from ingest.subtitles import outputs
from ingest.transcript import hallucination, speakers

log = structlog.get_logger(__name__)
T = TypeVar("T")


class Stopwatch:
    """Wall time per stage, in the order the stages ran."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    def run(self, stage: str, fn: Callable[[], T]) -> T:
        start = time.perf_counter()
        try:
            return fn()
        finally:
            self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - start


@dataclass(frozen=True)
class Prepared:
    """A job whose audio is decoded: the half a worker can do ahead of the engine."""

    job: Job
    audio: Audio
    stopwatch: Stopwatch


def run(job: Job, settings: Settings, host: Host) -> JobResult:
    """Process one file and return its result; never raises for a bad file."""
    first = prepare(job, settings, host)
    return first if isinstance(first, JobResult) else complete(first, settings, host)


# Called with the outcome before it is logged or told to plugins (the daemon records it in
# its ledger there): a "job_done" line or a notification then always means a recorded job.
Record = Callable[[JobResult], object]


def prepare(job: Job, settings: Settings, host: Host, record: Record | None = None) -> Prepared | JobResult:
    """Probe, accept, preflight, extract. A ``JobResult`` when the job ended here."""
    watch = Stopwatch()
    return _guard(job, host, watch, lambda: _prepare(job, settings, host, watch), record)


def complete(prepared: Prepared, settings: Settings, host: Host, record: Record | None = None) -> JobResult:
    """Transcribe, build cues, write: the rest of a prepared job."""
    job, watch = prepared.job, prepared.stopwatch
    return _guard(job, host, watch, lambda: _complete(prepared, settings, host), record)


def _guard(job: Job, host: Host, watch: Stopwatch, body: Callable[[], T], record: Record | None) -> T | JobResult:
    """The job boundary: every outcome becomes a result, recorded, logged once, told to plugins."""
    with structlog.contextvars.bound_contextvars(file=str(job.path)):
        try:
            value = body()
            if not isinstance(value, JobResult):
                return value
            result = value
        except Skipped as skip:
            result = JobResult(job.path, "skipped", error=skip.reason, timings=watch.timings)
        except Cancelled as exc:
            result = JobResult(job.path, "cancelled", error=str(exc), timings=watch.timings)
        except IngestError as exc:
            result = JobResult(job.path, "failed", error=str(exc), timings=watch.timings)
        except Exception as exc:  # the job boundary: one bad file never stops the rest
            log.exception("job_crashed")
            result = JobResult(
                job.path, "failed", error=f"{job.path}: unexpected error: {exc!r}", timings=watch.timings
            )
        if result.status == "failed" and not job.last_attempt:
            result = replace(result, final=False)
        if record is not None:  # raising here (a ledger that cannot be written while stopping)
            record(result)  # leaves the job unannounced: it is taken back and run again
        _summary(result)
        if result.status != "cancelled":  # a cancelled job runs again later; it has not finished
            finish(host, job, result)
        return result


def _prepare(job: Job, settings: Settings, host: Host, watch: Stopwatch) -> Prepared:
    media = watch.run("probe", lambda: media_mod.probe(job.path))
    job = replace(job, media=media)
    accept(host, media, job)
    preflight(job)
    audio = watch.run("extract", lambda: extract(job, media, settings))
    audio = watch.run("vad", lambda: vad.detect(audio, settings.speech))
    if audio.speech == ():  # ends here, in the preparer: nothing for the engine to wait in line for
        raise Skipped("no speech found by voice activity detection; nothing written ([speech] vad = false hears all)")
    return Prepared(job, audio, watch)


def _complete(prepared: Prepared, settings: Settings, host: Host) -> JobResult:
    job, audio, watch = prepared.job, prepared.audio, prepared.stopwatch
    transcript = watch.run("transcribe", lambda: transcribe(host, job, audio))
    transcript = watch.run("filter", lambda: screen(transcript, audio, settings))
    if job.options.diarize:
        transcript = watch.run("diarize", lambda: diarize(host, job, audio, transcript))
    cues = watch.run("cues", lambda: cues_mod.build_cues(transcript.words, settings.cues, audio.duration))
    transcript = replace(transcript, cues=cues, timings=dict(watch.timings))
    written = watch.run("write", lambda: write(host, job, transcript))
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
    if language:
        targets = [outputs.target(job, language, fmt) for fmt in job.options.formats]
        outputs.check_free(job, targets)


def extract(job: Job, media: MediaFile, settings: Settings) -> Audio:
    preferred = list(settings.audio.track_languages)
    if not preferred and job.options.language:
        preferred = [job.options.language]
    track = media_mod.choose_track(media, preferred)
    result = audio_mod.extract(media, track, settings.audio)
    log.debug(
        "audio_extracted",
        track=track.index,
        language=track.language,
        centre=audio_mod.uses_centre(track, settings.audio),
        seconds=round(result.duration, 2),
    )
    return result


def transcribe(host: Host, job: Job, audio: Audio) -> Transcript:
    transcript = host.hook.ingest_transcribe(job=job, audio=audio)
    if transcript is None:
        raise StageError("transcribe", job.path, f"no engine named {job.options.engine!r} is loaded")
    return transcript


def screen(transcript: Transcript, audio: Audio, settings: Settings) -> Transcript:
    """The hallucination filters; a transcript left with no words skips the job."""
    kept = hallucination.apply(replace(transcript, speech=audio.speech), settings.filters)
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
    targets = [outputs.target(job, transcript.output_language, fmt) for fmt in job.options.formats]
    outputs.check_free(job, targets)
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
