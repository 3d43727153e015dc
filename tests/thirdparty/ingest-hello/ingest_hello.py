"""ingest-hello: writes a greeting beside each transcript and keeps a journal of jobs.

The worked example of docs/plugins.md. It declares settings (``[plugins.hello]``),
adds an output format, skips some files, and records what the host told it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from pydantic import BaseModel, ConfigDict

from ingest import hookimpl, outputs

if TYPE_CHECKING:
    from ingest import Job, JobResult, MediaFile, Transcript

log = structlog.get_logger(__name__)

NAME = "hello"  # the [plugins.hello] table and INGEST_PLUGINS__HELLO__<KEY>
FORMAT = "hello"
outputs.declare_extension(FORMAT, "hello.txt")  # <stem>.<lang>.hello.txt


class HelloSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    greeting: str = "Hello"
    log_file: Path | None = None  # one JSON line per hook call worth recording
    explode: bool = False  # make ingest_job_finished raise (shows that it cannot fail a job)
    skip_word: str = "skipme"  # files whose name contains this are not transcribed


# Set by ingest_startup; a plugin module keeps its state at module level.
_settings = HelloSettings()


def _journal(hook: str, **values: object) -> None:
    if _settings.log_file is None:
        return
    with _settings.log_file.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"hook": hook, **values}) + "\n")


@hookimpl
def ingest_plugin_settings() -> tuple[str, type[BaseModel]]:
    return NAME, HelloSettings


@hookimpl
def ingest_startup(plugin_config: dict[str, BaseModel], command: str) -> None:
    global _settings
    _settings = plugin_config[NAME]
    log.info("hello_started", command=command, greeting=_settings.greeting)
    _journal("ingest_startup", command=command, greeting=_settings.greeting)


@hookimpl
def ingest_shutdown() -> None:
    _journal("ingest_shutdown")


@hookimpl
def ingest_formats() -> list[str]:
    return [FORMAT]


@hookimpl
def ingest_accept(media: MediaFile) -> str | None:
    if _settings.skip_word in media.path.name:
        return f"hello: the name contains {_settings.skip_word!r}"
    return None


@hookimpl
def ingest_write_outputs(job: Job, transcript: Transcript) -> list[Path]:
    text = f"{_settings.greeting}! {transcript.text}\n"
    return outputs.write_sidecar(job, transcript, FORMAT, lambda: text)


@hookimpl
def ingest_job_finished(job: Job, result: JobResult) -> None:
    _journal("ingest_job_finished", file=job.path.name, status=result.status, error=result.error)
    if _settings.explode:
        raise RuntimeError("hello exploded on purpose (explode = true)")
