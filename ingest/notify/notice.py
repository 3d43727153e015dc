"""A finished job told to the outside world: one frozen summary, rendered for people or machines.

Notifiers and webhooks describe the same facts about a job: which file, how long the
media is, the language, engine and model, how long the job took, what it wrote, why
it failed. ``Notice.of`` gathers them once from a job and its result; ``fields`` is
the text people read (``"4:31"``), ``payload`` the JSON machines read (seconds).

``Burst`` decides, file by file, whether a message goes out on its own or as a line
of the next digest, so that a backfill does not send hundreds of messages.

Templates are ``str.format`` text over named fields (``"Transcribed: {name}"``).
``check`` validates one against the fields its message has, at start-up, so a typo
stops the program with the key named instead of breaking every message later.

URLs of notification services carry secrets (tokens, passwords, query keys), and the
libraries that send to them log those URLs at debug level. ``Redactor`` is a logging
filter that blanks given secrets in every record of the loggers it is attached to.
"""

from __future__ import annotations

import collections
import logging
import re
import socket
import string
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ingest.models import Job, JobResult

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

DIGEST_FIELDS = frozenset({"count", "done", "failed", "skipped", "duration", "files", "host"})
MARKS = {"done": "✓", "failed": "✗", "skipped": "-"}


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
            "file": str(self.path),
            "name": self.path.name,
            "folder": str(self.path.parent),
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
            "outputs": ", ".join(p.name for p in self.outputs) or "none",
            "error": self.error or "",
            "reason": (self.error or "").removeprefix(f"{self.path}: "),
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
            "outputs": [str(p) for p in self.outputs],
            "error": self.error,
            "seconds": round(self.seconds, 3),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "final": self.final,
            "host": self.host,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.finished)),
        }


def digest(items: list[Notice], max_lines: int = 50) -> dict[str, str]:
    """Text for a digest of many files (``DIGEST_FIELDS``): counts, then one line a file."""
    lines = [_line(item) for item in items[:max_lines]]
    if len(items) > max_lines:
        lines.append(f"… and {len(items) - max_lines} more")
    counts = {event: sum(1 for i in items if i.event == event) for event in ("done", "failed", "skipped")}
    return {
        "count": str(len(items)),
        **{event: str(n) for event, n in counts.items()},
        "duration": human(sum(i.duration for i in items)),
        "files": "\n".join(lines),
        "host": items[0].host if items else socket.gethostname(),
    }


def _line(item: Notice) -> str:
    fields = item.fields()
    tail = f" ({fields['duration']}, {fields['language']})" if item.event == "done" else f": {fields['reason']}"
    return f"{MARKS.get(item.event, '-')} {fields['name']}{tail}"


class Burst:
    """Decides per finished file: a message of its own, or a line in the next digest.

    A file goes into a digest when ``always`` (a scan), when a digest is pending, or
    when more than ``after`` files finished within ``interval`` seconds. A digest goes
    to ``flush`` when it holds ``every`` files or ``interval`` seconds after its first.
    """

    def __init__(
        self, after: int, every: int, interval: float, always: bool, flush: Callable[[list[Notice]], None], name: str
    ) -> None:
        self.after, self.every, self.interval = after, every, interval
        self.always, self.flush, self.name = always, flush, name
        self._recent: collections.deque[float] = collections.deque()
        self._pending: list[Notice] = []
        self._timer: threading.Timer | None = None
        self._spent: list[threading.Timer] = []
        self._lock = threading.Lock()

    def add(self, item: Notice) -> bool:
        """``True`` when ``item`` went into a digest (sent now if it is full)."""
        with self._lock:
            now = time.monotonic()
            while self._recent and self._recent[0] <= now - self.interval:
                self._recent.popleft()
            self._recent.append(now)
            if not (self.always or self._pending or len(self._recent) > self.after):
                return False
            self._pending.append(item)
            full = self._take() if len(self._pending) >= self.every else []
            if self._pending and self._timer is None:
                self._timer = threading.Timer(self.interval, self._due)
                self._timer.name = f"ingest-{self.name}-digest"
                self._timer.start()
        if full:
            self.flush(full)
        return True

    def close(self) -> None:
        """Send what is pending; join every timer."""
        with self._lock:
            rest = self._take()
        for timer in self._spent:
            timer.join()
        self._spent.clear()
        if rest:
            self.flush(rest)

    def _due(self) -> None:
        with self._lock:
            if self._timer is not threading.current_thread():
                return  # a digest that filled up and went out meanwhile
            rest = self._take()
        if rest:
            self.flush(rest)

    def _take(self) -> list[Notice]:
        taken, self._pending = self._pending, []
        if self._timer is not None:
            self._timer.cancel()
            self._spent.append(self._timer)
            self._timer = None
        return taken


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


def public_url(url: str) -> str:
    """``url`` without its user, password, query and fragment: safe to log."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def url_secrets(url: str) -> set[str]:
    """The parts of an http(s) URL that may be secret: password, query, query values."""
    parts = urlsplit(url)
    found = {parts.password or "", parts.query, parts.fragment}
    found |= {pair.partition("=")[2] for pair in parts.query.split("&")}
    return {s for s in found if s}


class Redactor(logging.Filter):
    """Blanks known secrets in every record of the loggers it is attached to."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        words = {w for s in secrets if len(s) >= 3 for w in (s, unquote(s))}  # one pass: may be a generator
        longest_first = sorted(words, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, longest_first))) if longest_first else None
        self._loggers: list[logging.Logger] = []

    def redact(self, text: str) -> str:
        return self._pattern.sub(MASK, text) if self._pattern else text

    def filter(self, record: logging.LogRecord) -> bool:
        if self._pattern:
            message = record.getMessage()
            cleaned = self.redact(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
        return True

    def attach(self, *names: str) -> Redactor:
        for name in names:
            logger = logging.getLogger(name)
            logger.addFilter(self)
            self._loggers.append(logger)
        return self

    def detach(self) -> None:
        for logger in self._loggers:
            logger.removeFilter(self)
        self._loggers.clear()
