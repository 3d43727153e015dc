"""Reading a multipart upload as it arrives: the file part into the spool, the rest as fields.

Starlette's own form parsing reads the whole body before the route runs, into memory or
a temporary file the route then copies. Here python-multipart's streaming parser is fed
each chunk off the socket: the one file part goes straight to a ``spool.Writer`` (hashed
and written chunk by chunk, the size limit enforced while reading), the small text fields
are kept, each up to ``FIELD_LIMIT`` bytes. The body is read promptly to its end, so a
client that sends for a long time (Bazarr's 5 s send timeout) never waits on us.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from ingest.server import spool
from ingest.server.errors import RequestError

FIELD_LIMIT = 64 * 1024  # bytes of one text field (a prompt is the longest)


@dataclass(frozen=True)
class Upload:
    """A multipart body once read: the spooled file, its name as sent, the other fields."""

    blob: spool.Blob
    filename: str | None
    fields: dict[str, list[str]] = field(default_factory=dict)

    def first(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[0] if values else None


class _Receiver:
    """The parser's callbacks: which part is being read, and where its bytes go."""

    def __init__(self, file_fields: tuple[str, ...], writer: Callable[[str | None], spool.Writer]) -> None:
        self.file_fields, self.make_writer = file_fields, writer
        self.writer: spool.Writer | None = None
        self.filename: str | None = None
        self.fields: dict[str, list[str]] = {}
        self._header: list[bytes] = [b"", b""]
        self._name: str | None = None
        self._value = bytearray()
        self._in_file = False
        self.ended = False

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._begin,
            "on_header_field": lambda d, s, e: self._add(0, d[s:e]),
            "on_header_value": lambda d, s, e: self._add(1, d[s:e]),
            "on_header_end": self._header_end,
            "on_part_data": self._data,
            "on_part_end": self._end,
            "on_end": self._finished,
        }

    def _begin(self) -> None:
        self._name, self._value, self._in_file = None, bytearray(), False

    def _add(self, which: int, data: bytes) -> None:
        self._header[which] += data

    def _header_end(self) -> None:
        name, value = self._header
        self._header = [b"", b""]
        if name.lower() != b"content-disposition":
            return
        _, params = parse_options_header(value)
        self._name = params.get(b"name", b"").decode("utf-8", "replace")
        if self._name in self.file_fields and self.writer is None:
            raw = params.get(b"filename")
            self.filename = raw.decode("utf-8", "replace") if raw is not None else None
            self.writer, self._in_file = self.make_writer(self.filename), True

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file and self.writer is not None:
            self.writer.write(data[start:end])
            return
        self._value += data[start:end]
        if len(self._value) > FIELD_LIMIT:
            raise RequestError(400, f"form field {self._name!r} is longer than {FIELD_LIMIT} bytes", self._name)

    def _end(self) -> None:
        if not self._in_file and self._name:
            self.fields.setdefault(self._name, []).append(self._value.decode("utf-8", "replace"))
        self._in_file = False

    def _finished(self) -> None:
        self.ended = True


async def receive(
    request: Request, file_field: str | tuple[str, ...], folder: Path, limit: int, pcm: bool = False
) -> Upload:
    """Read the whole multipart body of ``request``; its ``file_field`` part (the first of
    several names that is sent) into the spool.

    A ``RequestError`` (and nothing left in the spool) when the body is not multipart,
    has no such part, is cut short, or breaks a limit."""
    boundary = _boundary(request)
    names = (file_field,) if isinstance(file_field, str) else file_field
    receiver = _Receiver(names, lambda name: spool.Writer(folder, limit, pcm, spool.ending(name)))
    parser = MultipartParser(boundary, receiver.callbacks())  # type: ignore[arg-type]
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
        if receiver.writer is None:
            raise RequestError(400, f"no file in the form field {' or '.join(map(repr, names))}", names[0])
        if not receiver.ended:
            raise RequestError(400, "the multipart body ended early", names[0])
        blob = receiver.writer.finish()
    except MultipartParseError as exc:
        _discard(receiver)
        raise RequestError(400, f"not a valid multipart body: {exc}") from None
    except ClientDisconnect:
        _discard(receiver)
        raise RequestError(400, "the client went away during the upload", retry=True) from None
    except BaseException:
        _discard(receiver)
        raise
    return Upload(blob, receiver.filename, receiver.fields)


def _discard(receiver: _Receiver) -> None:
    if receiver.writer is not None:
        receiver.writer.discard()


def _boundary(request: Request) -> bytes:
    kind, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise RequestError(400, "the request must be multipart/form-data with the audio as a file part")
    return boundary
