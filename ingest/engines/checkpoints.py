"""openai-whisper checkpoints: the same resolution order as ``weights``, for ``.pt`` files.

explicit path (a ``.pt``, or a CTranslate2 folder to convert) → the models folder
(``<models_dir>/<name>/openai-whisper.pt``) → openai-whisper's own download cache →
CTranslate2 weights available offline, converted once into the models folder →
openai-whisper's download by name.
"""

from __future__ import annotations

import os
from pathlib import Path

from ingest.engines import weights
from ingest.engines.weights import ModelRef
from ingest.errors import ConfigError

CHECKPOINT = "openai-whisper.pt"


def whisper_cache() -> Path:
    """Where openai-whisper keeps what it downloads (its ``download_root`` default)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "whisper"


def converted_path(models_dir: Path, name: str) -> Path:
    return models_dir / name / CHECKPOINT


def resolve(spec: str, models_dir: Path) -> ModelRef:
    """Resolve a model setting to a checkpoint file, converting shipped weights if needed."""
    if spec == "auto":
        offline = available(models_dir)
        return resolve(offline[0].name, models_dir) if offline else ModelRef("base", "download")
    as_path = Path(spec).expanduser()
    if as_path.suffix == ".pt" or os.sep in spec or spec.startswith("."):
        return _from_path(as_path, models_dir)
    if (mine := converted_path(models_dir, spec)).is_file():
        return ModelRef(spec, "models_dir", mine)
    if (cached := whisper_cache() / f"{spec}.pt").is_file():
        return ModelRef(spec, "cache", cached)
    ct2 = weights.resolve(spec, models_dir)
    if ct2.path is not None:
        return ModelRef(spec, "converted", convert_once(ct2.path, converted_path(models_dir, spec)))
    return ModelRef(spec, "download")


def _from_path(path: Path, models_dir: Path) -> ModelRef:
    if path.is_file():
        return ModelRef(path.stem, "path", path)
    if (path / "model.bin").is_file():
        return ModelRef(path.name, "converted", convert_once(path, converted_path(models_dir, path.name)))
    raise ConfigError(f"transcribe.model = {str(path)!r}: neither a .pt checkpoint nor a folder with model.bin")


def convert_once(source: Path, target: Path) -> Path:
    """Convert a CTranslate2 folder to ``target`` unless an up-to-date copy is there."""
    from ingest.engines import convert

    stale = not target.is_file() or target.stat().st_mtime < (source / "model.bin").stat().st_mtime
    if stale:
        target.parent.mkdir(parents=True, exist_ok=True)
        convert.convert(source, target)
    return target


def available(models_dir: Path) -> list[ModelRef]:
    """Checkpoints usable offline (present, cached, or convertible), best first; nothing is converted."""
    found: dict[str, ModelRef] = {}
    if models_dir.is_dir():
        for pt in sorted(models_dir.glob(f"*/{CHECKPOINT}")):
            found[pt.parent.name] = ModelRef(pt.parent.name, "models_dir", pt)
    if whisper_cache().is_dir():
        for pt in sorted(whisper_cache().glob("*.pt")):
            found.setdefault(pt.stem, ModelRef(pt.stem, "cache", pt))
    for ct2 in weights.available(models_dir):
        found.setdefault(ct2.name, ModelRef(ct2.name, "converted", converted_path(models_dir, ct2.name)))
    return sorted(found.values(), key=weights.rank)
