"""Where a media server sees a file that ingest sees under another path.

Docker containers and NAS shares mount one library at different places: ingest may
read ``/mnt/nas/tv/Show/S01E02.mkv`` while Plex, in its container, knows the same file
as ``/data/tv/Show/S01E02.mkv``, or a Windows server as ``\\\\nas\\tv\\Show\\S01E02.mkv``.
A refresh that names a path the server does not know does nothing, silently, so the
media-server plugins translate every path they send through a ``PathMap``.

A map is a list of prefix pairs, written ``"from=to"`` (ingest's prefix, then the
server's). The longest ``from`` that matches whole path components wins, so
``/media/tv`` never rewrites ``/media/tvshows``. A path no pair matches is sent as it
is: with no map, both sides are assumed to see the same paths. The server's side keeps
its own separator: a ``to`` with a backslash or a drive letter gives a Windows path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath, PurePosixPath, PureWindowsPath
from typing import Annotated, Any

from pydantic import BeforeValidator

_WINDOWS = re.compile(r"^[A-Za-z]:|\\")


def pairs(value: Any) -> tuple[tuple[str, str], ...]:
    """Settings to prefix pairs: a list of ``"from=to"``, a table, or one string.

    A string (as an environment variable arrives) is JSON when it starts with ``[`` or
    ``{``, else comma-separated ``from=to`` pairs. Raises ``ValueError`` naming the bad
    entry, which the plugin host reports with the key.
    """
    if isinstance(value, str):
        text = value.strip()
        value = json.loads(text) if text.startswith(("[", "{")) else [p for p in text.split(",") if p.strip()]
    if isinstance(value, dict):
        value = [f"{src}={dst}" for src, dst in value.items()]
    if not isinstance(value, Iterable):
        raise ValueError('expected a list of "from=to" strings or a table {from = to}')
    return tuple(_pair(entry) for entry in value)


def _pair(entry: Any) -> tuple[str, str]:
    if isinstance(entry, (list, tuple)) and len(entry) == 2:
        src, dst = (str(part).strip() for part in entry)
    elif isinstance(entry, str) and "=" in entry:
        src, _, dst = (part.strip() for part in entry.partition("="))
    else:
        raise ValueError(f'{entry!r} is not "from=to" (the path ingest sees, then the path the server sees)')
    if not src.startswith("/"):
        raise ValueError(f"{entry!r}: the path ingest sees ({src!r}) must be absolute")
    if not dst:
        raise ValueError(f"{entry!r}: the path the server sees is empty")
    return src, dst


# A settings field: ``path_map: PathPairs = ()`` accepts every form ``pairs`` does.
PathPairs = Annotated[tuple[tuple[str, str], ...], BeforeValidator(pairs)]


@dataclass(frozen=True)
class PathMap:
    """Prefix pairs, longest ``from`` first; ``apply`` translates one path."""

    rules: tuple[tuple[PurePosixPath, PurePath], ...] = ()

    @classmethod
    def of(cls, prefixes: Iterable[tuple[str, str]]) -> PathMap:
        rules = [(PurePosixPath(src), _server_path(dst)) for src, dst in prefixes]
        return cls(tuple(sorted(rules, key=lambda rule: len(rule[0].parts), reverse=True)))

    def apply(self, path: PurePath | str) -> str:
        """The server's name for ``path`` (ingest's), or ``path`` itself when no rule matches."""
        local = PurePosixPath(path)
        for src, dst in self.rules:
            if local.is_relative_to(src):
                return str(dst.joinpath(*local.relative_to(src).parts))
        return str(local)


def contains(root: str, path: str) -> bool:
    """Whether the server's ``path`` is ``root`` or inside it (both in the server's own style)."""
    return _server_path(path).is_relative_to(_server_path(root))


def _server_path(text: str) -> PurePath:
    return PureWindowsPath(text) if _WINDOWS.search(text) else PurePosixPath(text)
