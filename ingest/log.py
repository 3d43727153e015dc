"""Logging: structlog for our events, the same renderer for the engines' stdlib loggers.

Console output on a terminal, one JSON object a line otherwise (journald, files,
pipes). Events are snake_case names with values as keyword arguments.
"""

from __future__ import annotations

import logging
import sys
from typing import IO

import structlog
from structlog.typing import EventDict, WrappedLogger

from ingest.paths import shown

# Engines and libraries that log through the standard library.
# apprise says "Sent ... notification." for every message; the notifier logs its own line.
_NOISY = {
    "faster_whisper": logging.WARNING,
    "httpx": logging.WARNING,
    "urllib3": logging.WARNING,
    "apprise": logging.WARNING,
}


def setup(level: str = "info", fmt: str = "auto", stream: IO[str] | None = None) -> None:
    """Configure structlog and the stdlib root logger to render through one formatter."""
    stream = stream or sys.stderr
    as_json = fmt == "json" or (fmt == "auto" and not stream.isatty())
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        printable_names,
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info if as_json else _identity,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name, floor in _NOISY.items():
        logging.getLogger(name).setLevel(max(floor, root.level))
    logging.captureWarnings(True)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def printable_names(logger: WrappedLogger, name: str, event: EventDict) -> EventDict:
    """File names that are not UTF-8 as ``\\xNN``: a surrogate would break the console
    renderer and show as ``\\udcff`` in JSON, neither of which a user can match to ``ls``."""
    for field, value in event.items():
        if isinstance(value, str):
            event[field] = shown(value)
        elif isinstance(value, list | tuple) and any(isinstance(v, str) for v in value):
            event[field] = [shown(v) if isinstance(v, str) else v for v in value]
    return event


def _identity(logger: WrappedLogger, name: str, event: EventDict) -> EventDict:
    return event
