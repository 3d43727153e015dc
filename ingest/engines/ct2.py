"""Reading CTranslate2's ``model.bin`` without ctranslate2: struct and numpy only.

The binary layout (version 6): a version, the spec name, a revision, the variables
(name, rank, dims, dtype id, byte count, bytes), then alias records. Integer weights
come with a ``<name>_scale`` variable and are returned dequantized to float32.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from ingest.errors import ConfigError

BINARY_VERSION = 6
SPEC_NAME = "WhisperSpec"
# Type ids in CTranslate2's DataType order; bf16 has no numpy type and is read as raw u16.
DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16, 5: np.uint16}
BFLOAT16 = 5


class _Truncated(Exception):
    """The file ended inside a record."""


class _Reader:
    """Little-endian cursor over the bytes of ``model.bin``."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, size: int) -> memoryview:
        if self.pos + size > len(self.data):
            raise _Truncated(f"file ends at byte {len(self.data)}, a record needs {self.pos + size}")
        view = memoryview(self.data)[self.pos : self.pos + size]
        self.pos += size
        return view

    def unpack(self, fmt: str) -> tuple[int, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def string(self) -> str:
        (length,) = self.unpack("H")  # counts the trailing NUL
        return bytes(self.take(length)).rstrip(b"\0").decode("utf-8")


def read_ct2(path: Path) -> dict[str, np.ndarray]:
    """Every variable of a CTranslate2 ``model.bin`` (or the folder holding it) by name.

    Aliases appear under their own names too, and integer weights that carry a
    ``<name>_scale`` come back dequantized to float32 (the scales are consumed).
    Raises ``ConfigError`` naming the file when it is unreadable, truncated or not a
    binary-version-6 Whisper model.
    """
    path = path / "model.bin" if path.is_dir() else path
    try:
        variables, aliases = _parse(_Reader(path.read_bytes()))
    except (OSError, _Truncated, ValueError, UnicodeDecodeError, struct.error) as exc:
        raise ConfigError(f"{path}: not a readable CTranslate2 Whisper model: {exc}") from exc
    variables = _dequantize(variables)
    # After dequantizing, so an alias of a quantized weight gets the float values; an
    # alias of a scale has nothing left to point at and is not needed.
    variables.update({alias: variables[target] for alias, target in aliases.items() if target in variables})
    return variables


def _parse(reader: _Reader) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The variables and the aliases (alias name → variable name) of the file."""
    (version,) = reader.unpack("I")
    if version != BINARY_VERSION:
        raise ValueError(f"binary version {version}, only {BINARY_VERSION} is supported")
    spec = reader.string()
    if spec != SPEC_NAME:
        raise ValueError(f"spec {spec!r}, expected {SPEC_NAME!r}")
    reader.unpack("I")  # spec revision: the tensor layout below does not depend on it
    (count,) = reader.unpack("I")
    variables = dict(_variable(reader) for _ in range(count))
    (count,) = reader.unpack("I")
    aliases = dict((reader.string(), reader.string()) for _ in range(count))
    if missing := {t for t in aliases.values() if t not in variables}:
        raise ValueError(f"aliases point at missing variables {sorted(missing)}")
    if reader.pos != len(reader.data):
        raise ValueError(f"{len(reader.data) - reader.pos} unexpected bytes after the aliases")
    return variables, aliases


def _variable(reader: _Reader) -> tuple[str, np.ndarray]:
    name = reader.string()
    (rank,) = reader.unpack("B")
    shape = reader.unpack("I" * rank)
    (type_id,) = reader.unpack("B")
    if type_id not in DTYPES:
        raise ValueError(f"variable {name!r} has unknown dtype id {type_id}")
    (size,) = reader.unpack("I")
    dtype = np.dtype(DTYPES[type_id]).newbyteorder("<")
    if size != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
        raise ValueError(f"variable {name!r}: {size} bytes do not fit shape {shape}")
    array = np.frombuffer(reader.take(size), dtype=dtype).reshape(shape)
    if type_id == BFLOAT16:  # bf16 is the top half of a float32
        array = (array.astype(np.uint32) << 16).view(np.float32)
    return name, array


def _dequantize(variables: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    for scale_name in [n for n in variables if n.endswith("_scale")]:
        weight = variables.get(name := scale_name.removesuffix("_scale"))
        if weight is None or not np.issubdtype(weight.dtype, np.integer):
            continue
        # CTranslate2 stores round(w * scale): one scale per output row for int8
        # (conv kernels too), one for the whole tensor for int16.
        scale = variables.pop(scale_name).astype(np.float32)
        scale = scale.reshape(scale.shape + (1,) * (weight.ndim - scale.ndim))
        variables[name] = weight.astype(np.float32) / scale
    return variables
