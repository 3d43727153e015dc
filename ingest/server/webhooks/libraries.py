"""A path a client names, in ingest's view and held inside a configured library.

Senders name files as they see them: Sonarr in its container knows ``/tv/Show/x.mkv``,
Plex on Windows ``D:\\TV\\Show\\x.mkv``. ``to_ingest`` runs a sender's ``PathMap`` (the
media-server plugins' ``path_map``: pairs of ingest's prefix and the server's) backwards:
the longest server-side prefix that matches whole components wins, and a path no pair
matches is taken as it is.

``inside_library`` is the one gate every client-named path passes (webhooks, and
``POST /jobs`` with a path): absolute, no ``..`` component, and, with every symlink
resolved, still inside one of the watched folders. A symlink inside a library that points
out of it is refused, so a client cannot make ingest read, or write sidecars beside, a
file the user never put in a library.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path, PurePath, PurePosixPath

from ingest.errors import IngestError
from ingest.notify.pathmap import PathMap
from ingest.paths import located, shown


class OutsideLibrary(IngestError):
    """A path refused: ``status`` 403 for an escape (``..``, a symlink out), 422 for a path in no library."""

    def __init__(self, path: PurePath | str, cause: str, status: int) -> None:
        super().__init__(f"{shown(path)}: {cause}")
        self.path, self.cause, self.status = str(path), cause, status


def to_ingest(paths: PathMap, theirs: str) -> PurePosixPath:
    """The file the sender calls ``theirs``, named as ingest sees it."""
    rules = sorted(paths.rules, key=lambda rule: len(rule[1].parts), reverse=True)
    for local, remote in rules:
        candidate = type(remote)(theirs)  # the server's own path style (POSIX or Windows)
        if candidate.is_relative_to(remote):
            return local.joinpath(*candidate.relative_to(remote).parts)
    return PurePosixPath(theirs)


def inside_library(path: PurePath | str, libraries: Iterable[Path]) -> Path:
    """``path`` as a job names it (``located``: folder resolved, name kept), or ``OutsideLibrary``."""
    named = Path(PurePosixPath(path))
    if not named.is_absolute():
        raise OutsideLibrary(path, "not an absolute path: set a path map from the sender's paths to ingest's", 422)
    if ".." in named.parts:
        raise OutsideLibrary(path, "has a '..' component", 403)
    roots = [(folder, _real(folder)) for folder in libraries]
    if not roots:
        raise OutsideLibrary(path, "no library is configured ([[watches]] in the config file)", 422)
    real = _real(named)
    if any(real.is_relative_to(resolved) for _, resolved in roots):
        return located(named)
    if any(named.is_relative_to(folder) or named.is_relative_to(resolved) for folder, resolved in roots):
        raise OutsideLibrary(path, f"leaves the library through a symlink (it resolves to {shown(real)})", 403)
    known = ", ".join(shown(folder) for folder, _ in roots)
    raise OutsideLibrary(path, f"not inside a library ({known}): check the sender's path map", 422)


def _real(path: Path) -> Path:
    try:
        return path.expanduser().resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop: RuntimeError before Python 3.13
        raise OutsideLibrary(path, f"cannot be resolved ({exc})", 403) from exc
