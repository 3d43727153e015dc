"""Content identity of media files, cheap enough to take for every file in a library.

A fingerprint samples a large file instead of reading it whole: a 40 GB remux is
fingerprinted in three 1 MiB reads, yet an edit, a re-encode or a file replaced by a
new download changes the size or one of the samples.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG

from ingest.errors import NotRegularFile

CHUNK = 1 << 20  # 1 MiB
# Three samples of a file this small would overlap anyway: hash it whole instead.
WHOLE_FILE_LIMIT = 3 * CHUNK


@dataclass(frozen=True)
class Fingerprint:
    """What identifies a file's content: size, mtime and a sampled digest.

    ``mtime_ns`` is stored but does not decide identity: copies and ``touch`` change
    it without changing the content.
    """

    size: int
    mtime_ns: int
    digest: str

    def same_content(self, other: Fingerprint) -> bool:
        """True when both fingerprints describe the same bytes, whatever the mtime."""
        return self.size == other.size and self.digest == other.digest


def fingerprint(path: Path) -> Fingerprint:
    """Fingerprint ``path``: blake2b-128 over the size, then the first, middle and
    last MiB (the whole file when small). An ``OSError`` propagates; one that is not a
    regular file (a FIFO, a socket, a device) raises ``NotRegularFile`` without blocking:
    opening a named pipe for reading would otherwise wait for a writer for ever."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    with os.fdopen(fd, "rb") as handle:
        # fstat on the open handle, so size and content come from the same file even if
        # the name is replaced while we read.
        stat = os.fstat(handle.fileno())
        if not S_ISREG(stat.st_mode):
            raise NotRegularFile(path, stat.st_mode)
        digest = hashlib.blake2b(digest_size=16)
        digest.update(stat.st_size.to_bytes(8, "little"))
        for offset, length in _samples(stat.st_size):
            handle.seek(offset)
            digest.update(handle.read(length))
    return Fingerprint(stat.st_size, stat.st_mtime_ns, digest.hexdigest())


def _samples(size: int) -> list[tuple[int, int]]:
    if size <= WHOLE_FILE_LIMIT:
        return [(offset, CHUNK) for offset in range(0, size, CHUNK)]
    return [(0, CHUNK), ((size - CHUNK) // 2, CHUNK), (size - CHUNK, CHUNK)]


def sha256_of(path: Path) -> str:
    """The sha256 of a whole file, read in blocks (outputs, model weights)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()
