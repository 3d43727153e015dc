"""The ``INGEST_`` variables: every name a setting answers to, read off the settings model,
and those in an environment that none does.

pydantic-settings passes over an ``INGEST_`` variable no field reads without a word, so
``INGEST_TRANSCRIBE_MODEL=tiny`` (one underscore short of ``INGEST_TRANSCRIBE__MODEL``)
changes nothing and says nothing. ``ingest.settings.load`` warns about each, and
``ingest doctor`` lists them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from difflib import SequenceMatcher
from typing import get_origin

from pydantic import BaseModel

PREFIX = "INGEST_"
# Read by other code than the settings model: the settings' own files (ingest.settings.load),
# and scripts/ (setup.sh, lock.sh, container-test.sh), whose variables a shell may still export.
READ_ELSEWHERE = frozenset(
    {
        "INGEST_CONFIG",
        "INGEST_ENV_FILE",
        "INGEST_SKIP_DEMO",
        "INGEST_LOCK_TOOLS",
        "INGEST_CONTAINER_WORK",
        "INGEST_IMAGE",
        "INGEST_TEST_CLIP",
        "INGEST_SERVER_URL",  # `ingest submit`: the client's, not the daemon's
        "INGEST_API_KEY",
    }
)
# Below this likeness, a guess would mislead more than it helps.
_CUTOFF = 0.6


def names(model: type[BaseModel], prefix: str = PREFIX) -> list[str]:
    """Every variable a field of ``model`` answers to: a section whole (as JSON) and each of
    its fields, joined by ``__`` (``INGEST_TRANSCRIBE``, ``INGEST_TRANSCRIBE__MODEL``)."""
    found = []
    for field, info in model.model_fields.items():
        name = prefix + field.upper()
        found.append(name)
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            found += names(info.annotation, name + "__")
    return found


def open_prefixes(model: type[BaseModel]) -> tuple[str, ...]:
    """Mapping fields take any key below them (``INGEST_PLUGINS__WEBHOOK__URLS``): the
    plugin that declares the table validates it, not the settings model."""
    fields = model.model_fields.items()
    return tuple(f"{PREFIX}{field.upper()}__" for field, info in fields if get_origin(info.annotation) is dict)


def unknown(environ: Mapping[str, str], model: type[BaseModel]) -> list[tuple[str, str | None]]:
    """Each ``INGEST_`` variable in ``environ`` that nothing reads, with the real name it most
    likely meant (None when none is close). Names only: a value may be a secret. Compared
    without case, as pydantic-settings reads them."""
    known = [*names(model), *sorted(READ_ELSEWHERE)]
    known_set, wide_open = set(known), open_prefixes(model)
    found = []
    for name in sorted(environ):
        upper = name.upper()
        if upper.startswith(PREFIX) and upper not in known_set and not upper.startswith(wide_open):
            found.append((name, nearest(upper, known)))
    return found


def nearest(name: str, known: Iterable[str]) -> str | None:
    """The known name most like ``name``, by the whole name or by its last part, so that
    ``INGEST_WORKRES`` finds ``INGEST_DAEMON__WORKERS`` as ``INGEST_TRANSCRIBE_MODEL`` finds
    ``INGEST_TRANSCRIBE__MODEL``."""
    wanted = name.removeprefix(PREFIX)

    def likeness(candidate: str) -> float:
        bare = candidate.removeprefix(PREFIX)
        leaf = bare.rsplit("__", 1)[-1]
        return max(SequenceMatcher(None, wanted, bare).ratio(), SequenceMatcher(None, wanted, leaf).ratio())

    best = max(known, key=likeness, default=None)
    return best if best is not None and likeness(best) >= _CUTOFF else None
