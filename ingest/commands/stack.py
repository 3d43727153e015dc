"""Does the installed PyTorch family work together? (``ingest doctor``, set-up)

torch, torchaudio and torchcodec are built against each other's exact ABI, and torchaudio
does not declare which torch it needs, so pip happily pairs a newer torchaudio with an
older torch (torchaudio 2.11.1 beside torch 2.11.0 dies at import with an undefined
symbol). ingest pins the three exactly; this module compares what is installed with those
pins and imports each one in a child process (a broken native library can take the
process down with it), so the answer is a sentence with the fix, never a traceback.
"""

from __future__ import annotations

import importlib.metadata
import json
import shlex
import subprocess
import sys
from dataclasses import dataclass

from packaging.requirements import Requirement
from packaging.version import InvalidVersion, Version

FAMILY = ("torch", "torchaudio", "torchcodec")
IMPORT_TIMEOUT = 180.0  # a cold torch import on a slow disk takes tens of seconds

# Runs in a child: imports each module in turn, one JSON line per module.
_PROBE = """
import importlib, json, re, sys
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
        print(json.dumps([name, None]), flush=True)
    except BaseException as exc:
        lines = [l.strip() for l in str(exc).splitlines() if l.strip()]
        telling = [l for l in lines if "undefined symbol" in l or "cannot open shared object" in l]
        # torchcodec tries each FFmpeg major in turn: a missing libav* is expected for the
        # versions not installed, anything else is the real cause.
        cause = [l for l in telling if not re.search(r"libav[a-z]*[.]so", l)] or telling or lines or ['']
        print(json.dumps([name, f"{type(exc).__name__}: {cause[-1]}"]), flush=True)
"""


@dataclass(frozen=True)
class Member:
    name: str
    wanted: str | None  # the exact version ingest pins ("2.11.0"), None if not pinned
    found: str | None  # the installed version, None if not installed

    @property
    def matches(self) -> bool:
        return self.found is not None and (self.wanted is None or _public(self.found) == self.wanted)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    detail: str


def pins(distribution: str = "ingest") -> dict[str, str]:
    """The exact versions ``distribution`` requires for the torch family (``==`` only)."""
    found: dict[str, str] = {}
    for line in importlib.metadata.requires(distribution) or []:
        req = Requirement(line)
        if req.marker is not None or req.name not in FAMILY:
            continue
        exact = [spec.version for spec in req.specifier if spec.operator == "=="]
        if exact:
            found[req.name] = exact[0]
    return found


def members(distribution: str = "ingest") -> list[Member]:
    wanted = pins(distribution)
    return [Member(name, wanted.get(name), _installed(name)) for name in FAMILY]


def import_errors(names: list[str]) -> dict[str, str]:
    """``{module: error}`` for the modules that fail to import, each tried in a child process."""
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE, *names],
            capture_output=True,
            text=True,
            timeout=IMPORT_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {names[0]: f"importing took over {IMPORT_TIMEOUT:.0f} s"}
    done: dict[str, str | None] = {}
    for line in proc.stdout.splitlines():
        try:
            name, error = json.loads(line)
        except ValueError:
            continue
        done[name] = error
    errors = {name: error for name, error in done.items() if error}
    missing = [name for name in names if name not in done]
    if missing:  # the child died on this one (a crash in a native library)
        tail = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        errors[missing[0]] = f"the import crashed the interpreter: {tail}"
    return errors


def check(distribution: str = "ingest", try_import: bool = True) -> Verdict:
    """One verdict on the torch family: versions against the pins, then the imports."""
    found = members(distribution)
    fix = fix_command(found)
    wrong = [m for m in found if not m.matches]
    if wrong:
        return Verdict(False, f"{_describe(wrong, found)}; they are built for each other and must match. Fix: {fix}")
    if try_import:
        errors = import_errors([m.name for m in found])
        if errors:
            name, error = next(iter(errors.items()))
            hint = _hint(name, error, fix)
            return Verdict(False, f"{name} {_installed(name)} does not import ({error}). {hint}")
    versions = ", ".join(f"{m.name} {m.found}" for m in found)
    return Verdict(True, f"{versions}: match ingest's pins" + (" and import" if try_import else ""))


def fix_command(found: list[Member]) -> str:
    wanted = [f"{m.name}=={m.wanted}" for m in found if m.wanted]
    return shlex.join([sys.executable, "-m", "pip", "install", *wanted])


def _describe(wrong: list[Member], found: list[Member]) -> str:
    parts = []
    for m in wrong:
        have = f"{m.name} {m.found}" if m.found else f"{m.name} is not installed"
        parts.append(f"{have} (ingest needs {m.name}=={m.wanted})" if m.wanted else have)
    others = [f"{m.name} {m.found}" for m in found if m not in wrong and m.found]
    beside = f" beside {', '.join(others)}" if others else ""
    return "; ".join(parts) + beside


def _hint(name: str, error: str, fix: str) -> str:
    if "libpython" in error:
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        return f"{name} needs Python's shared library: apt-get install libpython{version}"
    if name == "torchcodec" and ("libav" in error or "FFmpeg" in error or "ffmpeg" in error):
        return "torchcodec needs FFmpeg's shared libraries: apt-get install ffmpeg"
    return f"Reinstalling the pinned set may mend it: {fix}"


def _installed(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _public(version: str) -> str:
    """``2.11.0+cu130`` → ``2.11.0``: a local build tag does not change the ABI line."""
    try:
        return Version(version).public
    except InvalidVersion:
        return version
