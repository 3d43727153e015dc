"""A real HTTP server on loopback that records every request it receives.

Services that cannot run here (Plex, Jellyfin, a notification service, a webhook
receiver) are stood in for by this server: the code under test speaks real HTTP to it,
and the test reads back exactly what arrived. Answers are scripted per path: a queue
of ``(status, body)`` pairs consumed in order (the last one repeats), so a test can make
the first call fail and the retry succeed. ``delay`` holds every answer back that
long, to test timeouts.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # without the query string
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode())


@dataclass
class Recorder:
    """What the server received, and what it will answer."""

    url: str = ""  # http://127.0.0.1:PORT, set once listening
    requests: list[Request] = field(default_factory=list)
    answers: dict[str, list[tuple[int, Any]]] = field(default_factory=dict)
    delay: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _arrived: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self._arrived = threading.Condition(self._lock)

    def answer(self, path: str, *replies: tuple[int, Any]) -> None:
        """Script the replies to ``path``: consumed in order, the last one repeats."""
        self.answers[path] = list(replies)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Request]:
        """Block until at least ``count`` requests arrived; all of them so far."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.requests) >= count, timeout):
                raise AssertionError(f"expected {count} request(s) within {timeout} s, got {len(self.requests)}")
            return list(self.requests)

    def _record(self, request: Request) -> tuple[int, Any]:
        with self._arrived:
            self.requests.append(request)
            self._arrived.notify_all()
            queue = self.answers.get(request.path) or [(200, {})]
            return queue.pop(0) if len(queue) > 1 else queue[0]


def _handler(recorder: Recorder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, payload = recorder._record(Request(self.command, parts.path, parse_qs(parts.query), headers, body))
            if recorder.delay:
                time.sleep(recorder.delay)
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                pass

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

    return Handler


@contextmanager
def serving() -> Iterator[Recorder]:
    """A recording server on 127.0.0.1 (a free port) for the block's duration."""
    recorder = Recorder()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(recorder))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="http-recorder", daemon=True)
    thread.start()
    recorder.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
