"""Helpers for testing plugins: a fresh plugin host and jobs made to order.

For plugin authors and ingest's own plugin tests. A test should see its own plugin
and nothing else that happens to be installed::

    from ingest.testing import fresh_host, make_job, make_transcript
    import ingest_hello

    host = fresh_host(ingest_hello, config={"hello": {"greeting": "Hi"}})
    with host.serving(settings(), command="process"):
        written = host.hook.ingest_write_outputs(job=make_job(tmp_path / "a.mkv"), transcript=make_transcript("Hi."))

``run_job`` sends a real file through the whole pipeline with the host given.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

from ingest.models import Job, JobOptions, JobResult, Segment, Transcript, Word
from ingest.plugins import Host, validate_settings
from ingest.settings import Settings, load

__all__ = ["fresh_host", "make_job", "make_transcript", "run_job", "settings"]


def fresh_host(*modules: ModuleType, config: dict[str, dict[str, Any]] | None = None) -> Host:
    """A plugin host with just ``modules`` registered (named by the last part of their
    module name, as the entry point would) and their ``[plugins.*]`` settings validated."""
    host = Host()
    for module in modules:
        host.register(module, getattr(module, "NAME", module.__name__.rsplit(".", 1)[-1]))
    validate_settings(host, config or {})
    return host


def settings(**overrides: Any) -> Settings:
    """Validated settings from the environment and ``overrides`` (no config file is read
    unless ``$INGEST_CONFIG`` names one), as the program would build them."""
    return load(None, None, **overrides)


def make_job(path: Path, **options: Any) -> Job:
    """A job for ``path`` with these ``JobOptions`` (defaults for the rest)."""
    return Job(Path(path), JobOptions(**options))


def make_transcript(*sentences: str, language: str = "en", gap: float = 0.5, word_seconds: float = 0.3) -> Transcript:
    """A transcript of one segment per sentence, words evenly timed, ``gap`` s apart."""
    segments, start = [], 0.0
    for sentence in sentences:
        words, t = [], start
        for token in sentence.split():
            words.append(Word(t, t + word_seconds, f" {token}", 0.9))  # engines spell words with a leading space
            t += word_seconds
        segments.append(Segment(start, t, f" {sentence}", tuple(words)))
        start = t + gap
    duration = segments[-1].end if segments else 0.0
    return Transcript(language, 1.0, duration, tuple(segments), engine="test", model="none")


def run_job(job: Job, host: Host, conf: Settings | None = None) -> JobResult:
    """``job`` through the whole pipeline (probe, extract, transcribe, ..., write) on ``host``."""
    from ingest import pipeline

    return pipeline.run(job, conf or settings(), host)
