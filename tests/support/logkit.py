"""ingest's real log set-up, captured: for tests that check what reaches the log output."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import structlog

from ingest import log


@contextmanager
def debug_json_logs() -> Iterator[io.StringIO]:
    """JSON lines at debug level (stdlib loggers such as apprise's and urllib3's included); restored after."""
    stream, root = io.StringIO(), logging.getLogger()
    handlers, level = root.handlers[:], root.level
    log.setup("debug", "json", stream)
    try:
        yield stream
    finally:
        root.handlers[:], root.level = handlers, level
        structlog.reset_defaults()
