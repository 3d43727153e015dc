"""Old import paths of the public API, kept working for one release (0.1 → 0.2).

Until 0.1 every module sat flat in ``ingest/``, and plugins imported them by path
(``from ingest.outputs import write_text``). They now live in subpackages; the names a
plugin needs are exported by ``ingest`` itself. An import by an old path still gets the
same module object, with a ``DeprecationWarning`` naming the import to use instead.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from collections.abc import Sequence
from types import FrameType, ModuleType
from typing import Any

# old module → its home now; only modules the public API exports (ingest.__all__).
MOVED = {
    "ingest.checkpoints": "ingest.engines.checkpoints",
    "ingest.convert": "ingest.engines.convert",
    "ingest.cues": "ingest.subtitles.cues",
    "ingest.delivery": "ingest.notify.delivery",
    "ingest.device": "ingest.engines.device",
    "ingest.diarization": "ingest.transcript.diarization",
    "ingest.langdetect": "ingest.transcript.langdetect",
    "ingest.languages": "ingest.subtitles.languages",
    "ingest.mediaserver": "ingest.notify.mediaserver",
    "ingest.modelcache": "ingest.engines.modelcache",
    "ingest.notice": "ingest.notify.notice",
    "ingest.outputs": "ingest.subtitles.outputs",
    "ingest.pathmap": "ingest.notify.pathmap",
    "ingest.sidecars": "ingest.subtitles.sidecars",
    "ingest.speakers": "ingest.transcript.speakers",
    "ingest.standards": "ingest.subtitles.standards",
    "ingest.vad": "ingest.media.vad",
    "ingest.weights": "ingest.engines.weights",
}

# Paths stored in files, not written in code: speaker-model folders assembled by 0.1 name
# the GE2E encoder's class by its module (``ingest.ge2e``) in their checkpoint. They load
# as they are, silently; a folder assembled now names ``ingest.transcript.ge2e``.
STORED = {"ingest.ge2e": "ingest.transcript.ge2e"}


def warn(old: str, new: str, public: str | None = None) -> None:
    """The warning, pointed at the line that imported the old path; ``public`` is the
    name to import from ``ingest`` instead (default: the old path's last part)."""
    leaf = public or old.rpartition(".")[2]
    warnings.warn(
        f"{old} moved to {new} in ingest 0.2 and the old path goes in 0.3: "
        f"import it as `from ingest import {leaf}`",
        DeprecationWarning,
        stacklevel=_importer_level(),
    )


def _importer_level() -> int:
    """How far up the stack the import statement is, past these shims (``warnings``
    itself steps over importlib's frames without counting them)."""
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None:
        name = frame.f_code.co_filename
        if not name.startswith("<frozen importlib"):
            if name != __file__ and frame.f_code.co_name != "__getattr__":
                return level
            level += 1
        frame = frame.f_back
    return level


class _Alias(importlib.abc.Loader):
    def __init__(self, target: str, warns: bool = True) -> None:
        self.target = target
        self.warns = warns

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        if self.warns:
            warn(spec.name, self.target)
        return importlib.import_module(self.target)

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the module is the moved one, already imported."""


class Finder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname in MOVED:
            return importlib.machinery.ModuleSpec(fullname, _Alias(MOVED[fullname]))
        if fullname in STORED:
            return importlib.machinery.ModuleSpec(fullname, _Alias(STORED[fullname], warns=False))
        return None


def install() -> None:
    if not any(isinstance(f, Finder) for f in sys.meta_path):
        sys.meta_path.append(Finder())


def attribute(module: str, name: str, homes: dict[str, str]) -> Any:
    """A module ``__getattr__``'s answer for a name that moved out of ``module``: the value
    from its new home (``homes[name]``), with the warning; ``AttributeError`` for any other."""
    if name not in homes:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    home = homes[name]
    leaf = home.rpartition(".")[2]
    public = name if name in ingest_public() else leaf
    warn(f"{module}.{name}", f"{home}.{name}", public=public)
    return getattr(importlib.import_module(home), name)


def ingest_public() -> list[str]:
    import ingest

    return ingest.__all__

