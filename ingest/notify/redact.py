"""Secrets kept out of logs.

URLs of notification services carry secrets (tokens, passwords, query keys), and the
libraries that send to them log those URLs at debug level. ``Redactor`` is a logging
filter that blanks given secrets in every record of the loggers it is attached to;
``public_url`` is the part of a URL that is safe to show.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

MASK = "****"


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
