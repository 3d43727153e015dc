"""Paths as a library holds them: any bytes but ``/`` and NUL, symlinks included.

Python decodes a name that is not valid UTF-8 (``bad\\xff.mkv``, common on old SMB
shares) with lone surrogates, which every filesystem call encodes back to the same
bytes, but which nothing else can encode: not a log line, a terminal, SQLite or a hash.
``shown`` is the form for people and text; the ledger stores the bytes themselves
(``ingest.ledger.queries.key``). ``located`` is where a file is, for its sidecars.
"""

from __future__ import annotations

import codecs
import os
import sys
from pathlib import Path

SHOWN = "ingest-shown"  # the codec error handler that writes a name's foreign bytes as \\xNN


def shown(value: object) -> str:
    """``value`` as printable text: each byte that is not UTF-8 written as ``\\xNN``."""
    text = str(value)
    if text.isascii():
        return text
    return os.fsencode(text).decode("utf-8", "backslashreplace")


def _escape_foreign_bytes(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    if not all("\udc80" <= ch <= "\udcff" for ch in bad):  # not bytes a name carried: a real bug
        raise exc
    return "".join(f"\\x{ord(ch) - 0xDC00:02x}" for ch in bad), exc.end


codecs.register_error(SHOWN, _escape_foreign_bytes)


def show_on_terminal() -> None:
    """``print`` of such a name writes it as ``shown`` does, instead of raising."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors=SHOWN)


def printable(text: str) -> bool:
    """Whether ``text`` encodes as UTF-8 (a name from valid bytes)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def located(path: Path) -> Path:
    """The absolute path of the file the user named, the link itself when it is a symlink.

    Its folder is resolved (``..`` and symlinked folders), its name is kept: sidecars of
    ``Show S01E01.mkv`` linked into a store belong beside the link, named from it, where
    the media server looks; never beside the store's ``abc123.mkv``.
    """
    path = path.expanduser()
    if path.name in ("", ".", ".."):
        return path.resolve()
    return path.absolute().parent.resolve() / path.name
