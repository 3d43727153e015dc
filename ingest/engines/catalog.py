"""The model catalog: every model usable offline, for each engine, and its integrity.

``ingest models list`` and ``ingest models verify`` print what this module finds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ingest.engines import checkpoints, weights
from ingest.ledger.fingerprint import sha256_of

FASTER, OPENAI = "faster-whisper", "openai-whisper"
DIARIZATION_FOLDER = "pyannote-builtin"  # ingest.diarization.FOLDER, without importing torch here


@dataclass(frozen=True)
class Entry:
    name: str
    engine: str
    source: str
    path: Path | None
    size: int  # bytes on disk; 0 when not there yet (converted on first use)

    @property
    def files(self) -> list[Path]:
        if self.path is None or not self.path.exists():
            return []
        return [f for f in self.path.iterdir() if f.is_file()] if self.path.is_dir() else [self.path]


@dataclass(frozen=True)
class Check:
    path: Path
    ok: bool
    detail: str


def entries(models_dir: Path) -> list[Entry]:
    """Both engines' offline models, best first."""
    rows = [_entry(ref, FASTER) for ref in weights.available(models_dir)]
    rows += [_entry(ref, OPENAI) for ref in checkpoints.available(models_dir)]
    rows = sorted(rows, key=lambda e: (weights.rank(weights.ModelRef(e.name, "path")), e.engine))
    speakers = models_dir / DIARIZATION_FOLDER
    if speakers.is_dir():
        size = sum(f.stat().st_size for f in speakers.rglob("*") if f.is_file())
        rows.append(Entry("builtin", "pyannote", "models_dir", speakers, size))
    return rows


def _entry(ref: weights.ModelRef, engine: str) -> Entry:
    path = ref.path
    if path is None or not path.exists():
        return Entry(ref.name, engine, ref.source, path, 0)
    if path.is_dir():  # a CTranslate2 folder may also hold our converted checkpoint: count its own files
        size = sum((path / f).stat().st_size for f in ("model.bin", *weights.CT2_FILES) if (path / f).is_file())
    else:
        size = path.stat().st_size
    return Entry(ref.name, engine, ref.source, path, size)


def verify(models_dir: Path) -> list[Check]:
    """Check every weights file against the hash we know for it."""
    checks = []
    for entry in entries(models_dir):
        if entry.engine == "pyannote" and entry.path is not None:
            checks.append(_check_diarization(entry.path))
        elif entry.engine == FASTER and entry.path is not None:
            checks.append(_check_ct2(entry))
        elif entry.path is not None and entry.path.is_file():
            checks.append(_check_checkpoint(entry))
    return checks


def _check_diarization(folder: Path) -> Check:
    from ingest.transcript import diarization

    bad = diarization.problems(folder)
    return Check(folder, not bad, "; ".join(bad) or "sha256 matches the shipped weights")


def _check_ct2(entry: Entry) -> Check:
    assert entry.path is not None
    model_bin = entry.path / "model.bin"
    shipped = weights.SHIPPED.get(entry.name)
    if shipped is None or model_bin.stat().st_size != shipped.size:
        return Check(model_bin, True, "no known hash for these weights (not the shipped ones); not checked")
    actual = sha256_of(model_bin)
    ok = actual == shipped.sha256
    return Check(model_bin, ok, "sha256 matches the shipped weights" if ok else f"sha256 {actual} != {shipped.sha256}")


def _check_checkpoint(entry: Entry) -> Check:
    path = entry.path
    assert path is not None
    expected = _expected_checkpoint_hash(entry, path)
    if expected is None:
        return Check(path, True, "no recorded hash; not checked")
    actual = sha256_of(path)
    ok = actual == expected
    return Check(path, ok, "sha256 matches" if ok else f"sha256 {actual} != recorded {expected}")


def _expected_checkpoint_hash(entry: Entry, path: Path) -> str | None:
    sidecar = path.with_suffix(path.suffix + ".sha256")
    if sidecar.is_file():  # written by ingest's converter
        return sidecar.read_text(encoding="utf-8").split()[0]
    if entry.source == "cache":  # openai-whisper names each download URL after its sha256
        import whisper

        url = whisper._MODELS.get(entry.name, "")
        match = re.search(r"/([0-9a-f]{64})/", url)
        return match.group(1) if match else None
    return None
