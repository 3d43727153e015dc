"""A finished job told to the outside world: one frozen summary, rendered for people or machines.

Notifiers and webhooks describe the same facts about a job: which file, how long the
media is, the language, engine and model, how long the job took, what it wrote, why
it failed. ``Notice.of`` gathers them once from a job and its result; ``fields`` is
the text people read (``"4:31"``), ``payload`` the JSON machines read (seconds).

Digests of many files are ``ingest.notify.digest``; keeping secrets out of logs is
``ingest.notify.redact``.

Templates are ``str.format`` text over named fields (``"Transcribed: {name}"``).
``check`` validates one against the fields its message has, at start-up, so a typo
stops the program with the key named instead of breaking every message later.
"""

from __future__ import annotations

import socket
import string
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.models import Job, JobResult
from ingest.paths import shown

MASK = "****"
# Fields every file message can use; a digest and the daemon's messages have their own.
FILE_FIELDS = frozenset(
    {
        "event",
        "status",
        "file",
        "name",
        "folder",
        "duration",
        "language",
        "engine",
        "model",
        "seconds",
        "took",
        "outputs",
        "error",
        "reason",
        "host",
    }
)


def human(seconds: float) -> str:
    """``4:31`` or ``1:02:03``: how people write a running time."""
    minutes, secs = divmod(max(0, round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass(frozen=True)
class Notice:
    """What a finished job says about itself, whatever the channel."""

    event: str  # done, failed or skipped
    path: Path
    language: str | None
    duration: float  # seconds of media
    engine: str
    model: str
    outputs: tuple[Path, ...]
    error: str | None
    seconds: float  # wall time of the job
    timings: dict[str, float] = field(default_factory=dict)
    final: bool = True  # False: a failed attempt the daemon will retry
    host: str = field(default_factory=socket.gethostname)
    finished: float = field(default_factory=time.time)

    @classmethod
    def of(cls, job: Job, result: JobResult) -> Notice:
        """The summary of ``result``; engine and model as run, else as asked for."""
        transcript = result.transcript
        return cls(
            event=result.status,
            path=result.path,
            language=result.language or (transcript.language if transcript else None),
            duration=result.duration or (job.media.duration if job.media else 0.0),
            engine=transcript.engine if transcript else job.options.engine,
            model=transcript.model if transcript else job.options.model,
            outputs=tuple(result.outputs),
            error=result.error,
            seconds=sum(result.timings.values()),
            timings=dict(result.timings),
            final=result.final,
        )

    def _where(self) -> dict[str, str]:
        """What happened to which file: the same words for people and machines."""
        return {
            "event": self.event,
            "status": self.event,
            "file": shown(self.path),
            "name": shown(self.path.name),
            "folder": shown(self.path.parent),
        }

    def fields(self) -> dict[str, str]:
        """Text for templates: every name in ``FILE_FIELDS``."""
        return {
            **self._where(),
            "duration": human(self.duration) if self.duration else "?",
            "language": self.language or "?",
            "engine": self.engine,
            "model": self.model,
            "seconds": f"{self.seconds:.1f}",
            "took": human(self.seconds),
            "outputs": ", ".join(shown(p.name) for p in self.outputs) or "none",
            "error": shown(self.error or ""),
            "reason": shown((self.error or "").removeprefix(f"{self.path}: ")),
            "host": self.host,
        }

    def payload(self) -> dict[str, Any]:
        """The JSON summary: numbers as numbers, paths in full."""
        return {
            **self._where(),
            "language": self.language,
            "duration": round(self.duration, 3),
            "engine": self.engine,
            "model": self.model,
            "outputs": [shown(p) for p in self.outputs],
            "error": None if self.error is None else shown(self.error),
            "seconds": round(self.seconds, 3),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "final": self.final,
            "host": self.host,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.finished)),
        }


def check(template: str, allowed: Iterable[str]) -> str:
    """``template`` when it names only ``allowed`` fields; ``ValueError`` saying which one it should not."""
    known = frozenset(allowed)
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:  # an unmatched brace
        raise ValueError(f"not a valid template ({exc}); write {{{{ and }}}} for literal braces") from None
    for name in names:
        if name not in known:
            raise ValueError(f"unknown field {{{name}}}; known: {', '.join(sorted(known))}")
    template.format_map(dict.fromkeys(known, ""))  # a bad format spec fails here, not later
    return template


def render(template: str, values: dict[str, Any]) -> str:
    """A checked template filled in."""
    return template.format_map(values)


_SPLIT_OUT = {  # 0.1 had these here too; for one release they still resolve, with a warning
    **dict.fromkeys(("digest", "DIGEST_FIELDS", "MARKS", "Burst"), "ingest.notify.digest"),
    **dict.fromkeys(("Redactor", "public_url", "url_secrets", "MASK"), "ingest.notify.redact"),
}


def __getattr__(name: str) -> Any:
    from ingest import _moved

    value = globals()[name] = _moved.attribute("ingest.notice", name, _SPLIT_OUT)  # warned once
    return value
