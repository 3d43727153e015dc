"""The spool: uploads written to disk as they arrive, named by their content.

An upload is never held whole in memory: each chunk is hashed (sha256) and written to a
hidden temporary file in the spool folder as it comes off the socket, and once complete
the file is renamed to ``<sha256><ending>``. Raw PCM (whisper-asr-webservice's
``encode=false``: signed 16-bit little-endian, mono, 16 kHz) gets a WAV header in front,
sized once the last byte is in, so ffmpeg and every later stage read it like any file.
A refused or broken upload (too large, odd PCM, a full disk, a dropped connection)
leaves nothing behind.

A blob is linked into each job that uses it (``ingest.server.queue``); one no job links
any more is swept.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import struct
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import structlog

from ingest.server.errors import RequestError

log = structlog.get_logger(__name__)

PCM_RATE = 16_000
WAV_HEADER_BYTES = 44
TEMP_PREFIX = ".upload-"
_ENDING = re.compile(r"\.[A-Za-z0-9]{1,8}")


@dataclass(frozen=True)
class Blob:
    """A complete upload in the spool: its path, the sha256 of the bytes sent, their count."""

    path: Path
    sha256: str
    size: int


def wav_header(data_bytes: int) -> bytes:
    """The 44-byte header of a 16 kHz mono 16-bit PCM WAV file with ``data_bytes`` of samples."""
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        *(b"RIFF", 36 + data_bytes, b"WAVE", b"fmt ", 16, 1, 1, PCM_RATE, PCM_RATE * 2, 2, 16),
        *(b"data", data_bytes),
    )


def ending(filename: str | None) -> str:
    """The ending an upload's blob keeps (``.flac``), so a human can tell what it is; '' if odd."""
    suffix = Path(filename or "").suffix
    return suffix.lower() if _ENDING.fullmatch(suffix) else ""


class Writer:
    """One upload on its way to the spool: ``write`` each chunk, then ``finish`` or ``discard``."""

    def __init__(self, folder: Path, limit: int, pcm: bool = False, suffix: str = "") -> None:
        folder.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=folder)
        self.folder, self.limit, self.pcm = folder, limit, pcm
        self.suffix = ".wav" if pcm else suffix
        self.temp = Path(name)
        self._file = os.fdopen(handle, "wb")
        self._hash = hashlib.sha256()
        self.size = 0
        if pcm:
            self._file.write(wav_header(0))

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise RequestError(413, f"upload larger than the server's limit of {self.limit // 2**20} MB", "file")
        self._hash.update(data)
        try:
            self._file.write(data)
        except OSError as exc:
            raise _disk_error(self.temp, exc) from exc

    def finish(self) -> Blob:
        """Close and name the upload by its content; a ``RequestError`` if it is no audio."""
        if self.size == 0:
            raise RequestError(400, "the upload is empty", "file")
        if self.pcm and self.size % 2:
            raise RequestError(400, f"raw PCM (encode=false) must be 16-bit samples: {self.size} bytes is odd", "file")
        try:
            if self.pcm:
                self._file.seek(0)
                self._file.write(wav_header(self.size))
            self._file.close()
            target = self.folder / f"{self._hash.hexdigest()}{self.suffix}"
            self.temp.replace(target)
        except OSError as exc:
            raise _disk_error(self.temp, exc) from exc
        return Blob(target, self._hash.hexdigest(), self.size)

    def discard(self) -> None:
        """Remove what was written (idempotent): a refused upload leaves no spool file."""
        with contextlib.suppress(OSError):
            self._file.close()
        with contextlib.suppress(FileNotFoundError):
            self.temp.unlink()


def _disk_error(path: Path, exc: OSError) -> RequestError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        log.error("spool_disk_full", path=str(path), error=exc.strerror)
        return RequestError(507, "the server's disk is full; try again later", retry=True)
    log.error("spool_write_failed", path=str(path), error=str(exc))
    return RequestError(500, "the server could not store the upload", retry=True)


def sweep(folder: Path, older_than: float) -> list[Path]:
    """Remove blobs no job links any more, and temporary files of uploads cut short (a
    crash), once older than ``older_than`` seconds. Returns what went."""
    gone: list[Path] = []
    cutoff = time.time() - older_than
    for path in folder.glob("*") if folder.is_dir() else ():
        try:
            st = path.lstat()
            orphan = st.st_nlink <= 1 or path.name.startswith(TEMP_PREFIX)
            if orphan and st.st_mtime < cutoff:
                path.unlink()
                gone.append(path)
        except FileNotFoundError:
            continue
    if gone:
        log.info("spool_swept", count=len(gone))
    return gone
