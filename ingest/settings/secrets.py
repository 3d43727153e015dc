"""Secrets in the settings: which keys hold them, where they belong, and how an error
shows a value that may be one.

Config files get copied, shared and pasted into bug reports, and so do error messages:
a secret is read only from the environment or an env file, and a settings error never
echoes a value that may be one, wherever it was found.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# The secrets ingest and its built-in plugins read, each as INGEST_<KEY> only.
SECRET_KEYS = frozenset({"hf_token", "apprise_urls", "jellyfin_api_key", "plex_token"})
# A key whose name says it may hold a credential, whether or not it is a setting.
SECRET_WORDS = ("url", "token", "key", "password", "secret")


class _Masked:
    def __repr__(self) -> str:
        return "'**********'"  # as pydantic prints a SecretStr


MASKED = _Masked()


def secret_like(loc: Sequence[int | str]) -> bool:
    """Whether a key, by the name of any part of its path, may hold a credential."""
    return any(word in str(part).lower() for part in loc for word in SECRET_WORDS)


def masked(value: Any, secret: bool = False) -> Any:
    """``value`` as an error may show it: anything under a secret-like key, and any URL
    (apprise URLs carry their credentials, under whatever key), replaced by ``MASKED``."""
    if secret or (isinstance(value, str) and "://" in value):
        return MASKED
    if isinstance(value, dict):
        return {k: masked(v, secret_like([k])) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(masked(v) for v in value)
    return value


def where_they_go(key: str) -> str:
    """Where a secret belongs instead of the config file: the variable that carries it."""
    if key in SECRET_KEYS:
        return f"secrets go in the environment: set INGEST_{key.upper()} there or in the env file"
    known = ", ".join(f"INGEST_{k.upper()}" for k in sorted(SECRET_KEYS))
    return f"secrets go in the environment or the env file, never the config file (ingest reads {known})"
