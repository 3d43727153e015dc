"""The installed set: requirements.lock agrees with pyproject.toml, is what is installed,
and works together (pip check, every engine and optional part imported in one process),
and a torch family out of step is named with its fix, not a traceback."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from ingest.commands import stack

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")


def locked() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        if m := PIN.match(line):
            pins[canonicalize_name(m[1])] = m[2]
    return pins


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        lines += extra
    return [Requirement(line) for line in lines]


def test_lock_satisfies_every_requirement_of_pyproject():
    pins = locked()
    wrong = []
    for req in declared():
        if req.marker is not None and not req.marker.evaluate():
            continue
        version = pins.get(canonicalize_name(req.name))
        if version is None or not req.specifier.contains(version, prereleases=True):
            wrong.append(f"{req} (lock: {version})")
    assert not wrong, f"requirements.lock disagrees with pyproject.toml, run scripts/lock.sh: {wrong}"


def test_every_locked_package_has_a_hash():
    entries = re.split(r"\n(?=[a-z0-9])", LOCK.read_text())
    unhashed = [e.split()[0] for e in entries if PIN.match(e) and "--hash=sha256:" not in e]
    assert not unhashed


def test_torch_family_is_pinned_exactly_and_alike():
    pins = locked()
    exact = {r.name: str(r.specifier) for r in declared() if r.name in stack.FAMILY}
    assert exact == {name: f"=={pins[name]}" for name in stack.FAMILY}


def test_the_lock_is_what_is_installed():
    pins = locked()
    wrong = {}
    for name, version in pins.items():
        try:
            found = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found = None
        if found is None or stack._public(found) != version:
            wrong[name] = (version, found)
    assert not wrong, f"installed differs from requirements.lock (locked, found): {wrong}"


def test_pip_check_is_clean():
    proc = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
def test_engines_diarizer_and_optional_parts_import_in_one_process():
    code = """
import importlib, pkgutil
import faster_whisper, ctranslate2, whisper, torch, torchaudio, torchcodec
import pyannote.audio, pyannote.metrics, omegaconf, apprise, watchdog.observers, ffmpeg
import pydantic_settings, structlog, pluggy, rich, pycountry, requests, jiwer
import ingest, ingest_plugins
for pkg in (ingest, ingest_plugins):
    for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        if not info.name.endswith(".__main__"):  # that one runs the CLI
            importlib.import_module(info.name)
torchcodec.decoders.AudioDecoder  # loads FFmpeg's shared libraries
print("imported")
"""
    env = {**os.environ, "PYANNOTE_METRICS_ENABLED": "0", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0 and proc.stdout.strip() == "imported", proc.stderr[-3000:]


@pytest.mark.slow
def test_the_installed_family_passes_its_check():
    verdict = stack.check()
    assert verdict.ok, verdict.detail
    assert "torchaudio" in verdict.detail


def fake_distribution(root: Path, name: str, version: str, requires: tuple[str, ...] = ()) -> None:
    info = root / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    lines += [f"Requires-Dist: {r}" for r in requires]
    (info / "METADATA").write_text("\n".join(lines) + "\n")


def test_a_newer_torchaudio_than_the_pin_is_named_with_the_fix(tmp_path):
    """What a fresh machine met: torchaudio 2.11.1 resolved beside torch 2.11.0. A
    distribution found first on the path says torchaudio is 2.11.1; the real pins say 2.11.0."""
    fake_distribution(tmp_path, "torchaudio", "2.11.1")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "ingest", "doctor", "--stack"], capture_output=True, text=True, timeout=300, env=env
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "Traceback" not in out
    pins = stack.pins()
    assert f"torchaudio 2.11.1 (ingest needs torchaudio=={pins['torchaudio']})" in out
    assert f"beside torch {importlib.metadata.version('torch')}" in out
    wanted = " ".join(f"{name}=={pins[name]}" for name in stack.FAMILY)
    assert f"pip install {wanted}" in out


def test_a_missing_member_and_an_unpinned_one(tmp_path, monkeypatch):
    fake_distribution(tmp_path, "needsall", "1.0", ("torch==2.11.0", "torchaudio>=2", "torchcodec==99.0"))
    monkeypatch.syspath_prepend(str(tmp_path))
    verdict = stack.check("needsall", try_import=False)
    assert not verdict.ok
    assert "(ingest needs torchcodec==99.0)" in verdict.detail
    assert "torchaudio" not in verdict.detail.split("Fix:")[1]  # only exact pins go into the fix


def test_an_import_that_fails_is_reported_by_module(tmp_path, monkeypatch):
    (tmp_path / "brokenmod.py").write_text("raise OSError('libfoo.so: undefined symbol: bar')\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    errors = stack.import_errors(["json", "brokenmod"])
    assert errors == {"brokenmod": "OSError: libfoo.so: undefined symbol: bar"}


def test_an_import_that_kills_the_interpreter_is_reported(tmp_path, monkeypatch):
    (tmp_path / "crashmod.py").write_text("import os\nos._exit(134)\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    errors = stack.import_errors(["crashmod"])
    assert errors["crashmod"].startswith("the import crashed the interpreter")


@pytest.mark.parametrize("given, public", [("2.11.0+cu130", "2.11.0"), ("2.11.0", "2.11.0"), ("odd", "odd")])
def test_local_build_tags_do_not_count(given, public):
    assert stack._public(given) == public
