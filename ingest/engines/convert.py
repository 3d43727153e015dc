"""CTranslate2 Whisper folders → openai-whisper checkpoints.

This module owns the conversion: it takes the tensors ``ingest.ct2`` reads from
``model.bin`` (no ctranslate2 needed), renames and splits them into openai-whisper's
layout, writes the checkpoint with a sha256 sidecar, and loads it back with the real
alignment heads from ``config.json``. The shipped weights are CTranslate2 only; this is
how the openai-whisper engine gets the same model without a model hub.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import structlog

from ingest.engines.ct2 import read_ct2
from ingest.errors import ConfigError
from ingest.ledger.fingerprint import sha256_of

if TYPE_CHECKING:
    import whisper.model

log = structlog.get_logger(__name__)


def to_openai(variables: dict[str, np.ndarray], config: dict[str, Any]) -> dict[str, Any]:
    """An openai-whisper checkpoint dict built from ``read_ct2``'s variables.

    Tensors are float32 whatever the source: openai-whisper builds its model in float32
    and casts what it loads into it, so float16 would only halve the file, while float32
    also holds dequantized int8 and bf16 weights exactly. ``config`` is the CTranslate2
    ``config.json``; its ``alignment_heads`` are carried along for ``load``.
    """
    state: dict[str, np.ndarray] = {}
    _map_encoder(variables, state)
    _map_decoder(variables, state)
    checkpoint: dict[str, Any] = {
        "dims": _dims(variables),
        "model_state_dict": {name: _tensor(value) for name, value in state.items()},
    }
    if config.get("alignment_heads"):
        checkpoint["alignment_heads"] = [[int(layer), int(head)] for layer, head in config["alignment_heads"]]
    return checkpoint


def _get(variables: dict[str, np.ndarray], name: str) -> np.ndarray:
    if name not in variables:
        raise ConfigError(f"the CTranslate2 model has no variable {name!r}; is it a Whisper model?")
    return variables[name]


def _layers(variables: dict[str, np.ndarray], stack: str) -> int:
    found = [int(m[1]) for n in variables if (m := re.match(rf"{stack}/layer_(\d+)/", n))]
    return max(found) + 1 if found else 0


def _copy(variables: dict[str, np.ndarray], state: dict[str, np.ndarray], src: str, dst: str) -> None:
    """A linear or conv layer's weight and bias; a layer norm's gamma and beta."""
    if f"{src}/gamma" in variables:
        state[f"{dst}.weight"] = _get(variables, f"{src}/gamma")
        state[f"{dst}.bias"] = _get(variables, f"{src}/beta")
        return
    state[f"{dst}.weight"] = _get(variables, f"{src}/weight")
    if f"{src}/bias" in variables:
        state[f"{dst}.bias"] = variables[f"{src}/bias"]


def _split(variables: dict[str, np.ndarray], state: dict[str, np.ndarray], src: str, dsts: list[str]) -> None:
    """A fused projection split along its output rows into ``dsts``.

    openai-whisper's key projection has no bias. Dropping the stored one is exact even
    if it were not zero: it shifts all of a query's scores equally, which softmax ignores.
    """
    weights = np.split(_get(variables, f"{src}/weight"), len(dsts))
    biases = np.split(_get(variables, f"{src}/bias"), len(dsts))
    for dst, weight, bias in zip(dsts, weights, biases, strict=True):
        state[f"{dst}.weight"] = weight
        if not dst.endswith(".key"):
            state[f"{dst}.bias"] = bias


def _map_block(variables: dict[str, np.ndarray], state: dict[str, np.ndarray], src: str, dst: str) -> None:
    """Self-attention and MLP, which encoder and decoder blocks share."""
    attn = f"{src}/self_attention"
    _copy(variables, state, f"{attn}/layer_norm", f"{dst}.attn_ln")
    _split(variables, state, f"{attn}/linear_0", [f"{dst}.attn.query", f"{dst}.attn.key", f"{dst}.attn.value"])
    _copy(variables, state, f"{attn}/linear_1", f"{dst}.attn.out")
    _copy(variables, state, f"{src}/ffn/layer_norm", f"{dst}.mlp_ln")
    _copy(variables, state, f"{src}/ffn/linear_0", f"{dst}.mlp.0")
    _copy(variables, state, f"{src}/ffn/linear_1", f"{dst}.mlp.2")


def _map_encoder(variables: dict[str, np.ndarray], state: dict[str, np.ndarray]) -> None:
    _copy(variables, state, "encoder/conv1", "encoder.conv1")
    _copy(variables, state, "encoder/conv2", "encoder.conv2")
    state["encoder.positional_embedding"] = _get(variables, "encoder/position_encodings/encodings")
    for n in range(_layers(variables, "encoder")):
        _map_block(variables, state, f"encoder/layer_{n}", f"encoder.blocks.{n}")
    _copy(variables, state, "encoder/layer_norm", "encoder.ln_post")


def _map_decoder(variables: dict[str, np.ndarray], state: dict[str, np.ndarray]) -> None:
    embedding = _get(variables, "decoder/embeddings/weight")
    # openai-whisper has no output projection of its own: it reuses the embedding.
    if not np.array_equal(_get(variables, "decoder/projection/weight"), embedding):
        raise ConfigError("the decoder projection differs from the token embedding; openai-whisper ties them")
    state["decoder.token_embedding.weight"] = embedding
    state["decoder.positional_embedding"] = _get(variables, "decoder/position_encodings/encodings")
    for n in range(_layers(variables, "decoder")):
        src, dst = f"decoder/layer_{n}", f"decoder.blocks.{n}"
        _map_block(variables, state, src, dst)
        _copy(variables, state, f"{src}/attention/layer_norm", f"{dst}.cross_attn_ln")
        _copy(variables, state, f"{src}/attention/linear_0", f"{dst}.cross_attn.query")
        _split(variables, state, f"{src}/attention/linear_1", [f"{dst}.cross_attn.key", f"{dst}.cross_attn.value"])
        _copy(variables, state, f"{src}/attention/linear_2", f"{dst}.cross_attn.out")
    _copy(variables, state, "decoder/layer_norm", "decoder.ln")


def _dims(variables: dict[str, np.ndarray]) -> dict[str, int]:
    """Plain ints: ``whisper.load_model`` unpickles with ``weights_only=True``."""
    conv1 = _get(variables, "encoder/conv1/weight")
    embedding = _get(variables, "decoder/embeddings/weight")
    return {
        "n_mels": int(conv1.shape[1]),
        "n_audio_ctx": int(_get(variables, "encoder/position_encodings/encodings").shape[0]),
        "n_audio_state": int(conv1.shape[0]),
        "n_audio_head": int(_get(variables, "encoder/num_heads").item()),
        "n_audio_layer": _layers(variables, "encoder"),
        "n_vocab": int(embedding.shape[0]),
        "n_text_ctx": int(_get(variables, "decoder/position_encodings/encodings").shape[0]),
        "n_text_state": int(embedding.shape[1]),
        "n_text_head": int(_get(variables, "decoder/num_heads").item()),
        "n_text_layer": _layers(variables, "decoder"),
    }


def _tensor(array: np.ndarray) -> Any:
    import torch  # heavy; only conversion and loading need it

    # A copy: arrays may be read-only views of the file bytes or share a fused buffer.
    return torch.from_numpy(np.array(array, dtype=np.float32))


def convert(src_folder: Path, dst_file: Path) -> Path:
    """Write ``dst_file`` (an openai-whisper checkpoint) and its ``.sha256`` sidecar.

    Both are written atomically, so a crash leaves the old pair or no file, never half a
    checkpoint. Returns ``dst_file``.
    """
    import torch

    started = time.monotonic()
    config = _read_config(src_folder / "config.json")
    model_bin = src_folder / "model.bin"
    try:
        checkpoint = to_openai(read_ct2(model_bin), config)
    except ConfigError as exc:
        raise ConfigError(f"{model_bin}: {exc}") from exc
    _atomic_write(dst_file, lambda fh: torch.save(checkpoint, fh))
    digest = sha256_of(dst_file)
    _atomic_write(dst_file.with_suffix(dst_file.suffix + ".sha256"), lambda fh: fh.write(f"{digest}\n".encode()))
    log.info(
        "model_converted",
        src=str(src_folder),
        dst=str(dst_file),
        sha256=digest,
        bytes=dst_file.stat().st_size,
        seconds=round(time.monotonic() - started, 2),
        **checkpoint["dims"],
    )
    return dst_file


def _read_config(path: Path) -> dict[str, Any]:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read the CTranslate2 config: {exc}") from exc
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    return config


def _atomic_write(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Write through a temp file in the same folder, so ``os.replace`` is atomic."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        Path(tmp).replace(path)  # os.replace: atomic within one filesystem
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def alignment_mask(heads: list[list[int]], n_layers: int, n_heads: int) -> bytes:
    """``heads`` in the form ``Whisper.set_alignment_heads`` takes: base85 of a gzipped bool array."""
    mask = np.zeros((n_layers, n_heads), dtype=bool)
    for layer, head in heads:
        if not (0 <= layer < n_layers and 0 <= head < n_heads):
            raise ConfigError(f"alignment head [{layer}, {head}] is outside {n_layers} layers x {n_heads} heads")
        mask[layer, head] = True
    return base64.b85encode(gzip.compress(mask.tobytes()))


def load(path: Path, device: str) -> whisper.model.Whisper:
    """An openai-whisper model from a converted checkpoint, with its real alignment heads.

    openai-whisper gives checkpoints loaded by path a fallback set (every head of the
    second half of the decoder), which puts word timestamps in the wrong places.
    """
    import torch
    import whisper

    model = whisper.load_model(str(path), device=device)
    # mmap: only the small "alignment_heads" entry is read, not the tensors again.
    heads = torch.load(path, map_location="cpu", weights_only=True, mmap=True).get("alignment_heads")
    if heads:
        model.set_alignment_heads(alignment_mask(heads, model.dims.n_text_layer, model.dims.n_text_head))
    return model.to(device)  # the mask buffer is made on the CPU
