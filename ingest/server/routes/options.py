"""A request's job options, from its query or else its body (form fields or JSON), each
checked and named in a 400 when it is wrong. ``/jobs`` and ``/transcribe`` read them here."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from ingest.server.errors import RequestError
from ingest.server.queue import Request as JobRequest
from ingest.server.routes import language_code

JOB_OPTIONS = ("task", "language", "initial_prompt", "diarize", "min_speakers", "max_speakers")
FLAGS = frozenset({"diarize", "word_timestamps"})
COUNTS = frozenset({"min_speakers", "max_speakers"})
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", ""})


class Given:
    """The options a request gave, checked and normalised, and the job they ask for."""

    def __init__(self, given: dict[str, Any]) -> None:
        self.given = given

    def flag(self, name: str) -> bool:
        return bool(self.given.get(name, False))

    def request(self) -> JobRequest:
        g = self.given
        diarize = self.flag("diarize")
        return JobRequest(
            task="translate" if g.get("task") == "translate" else "transcribe",
            language=g.get("language"),
            initial_prompt=g.get("initial_prompt") or None,
            diarize=diarize,
            min_speakers=g.get("min_speakers") if diarize else None,
            max_speakers=g.get("max_speakers") if diarize else None,
        )


def read(query: Mapping[str, str], body: Mapping[str, Any], names: Iterable[str] = JOB_OPTIONS) -> Given:
    """Each of ``names`` from the query, else the body (form fields are lists: the first), checked."""
    given: dict[str, Any] = {}
    for name in names:
        value = query.get(name, body.get(name))
        value = value[0] if isinstance(value, list) and value else value
        if value is not None and value != []:
            given[name] = _checked(name, value)
    given = {k: v for k, v in given.items() if v is not None}
    least, most = given.get("min_speakers"), given.get("max_speakers")
    if least is not None and most is not None and least > most:
        raise RequestError(400, f"min_speakers {least} is more than max_speakers {most}", "min_speakers")
    return Given(given)


def _checked(name: str, value: Any) -> Any:
    text = value if isinstance(value, str) else json.dumps(value)
    if name == "task":
        if text not in ("transcribe", "translate"):
            raise RequestError(400, f"task {text!r} is not transcribe or translate", "task")
        return text
    if name == "language":
        return language_code(text)
    if name in FLAGS:
        flag = text.strip().lower()
        if flag not in _TRUE | _FALSE:
            raise RequestError(400, f"{name} {text!r} is not true or false", name)
        return flag in _TRUE
    if name in COUNTS:
        number = text.strip()
        if not number.isdigit() or int(number) < 1:
            raise RequestError(400, f"{name} {text!r} is not a whole number of at least 1", name)
        return int(number)
    return text or None  # initial_prompt: free text
