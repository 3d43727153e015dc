"""The server bench's clients and gauges: keep-alive clients hammering ``/status``, a
streamed multipart upload of any size made on the fly, a burst of identical requests,
and a sampler of a process's resident memory.

Nothing here holds a request body whole: the upload generator yields one fixed block of
PCM noise over and over, so the client's memory stays flat however large the upload.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import requests

from ingest.server.spool import wav_header

BLOCK = 1 << 20  # bytes per chunk of a streamed upload
BOUNDARY = "ingest-bench-boundary-7f3a"


@dataclass(frozen=True)
class Load:
    """What ``/status`` answered over a window: latencies in seconds, failures, the window."""

    latencies: list[float]
    errors: int
    seconds: float

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def quantile(self, q: float) -> float:
        return quantile(self.latencies, q)

    def over(self, limit: float) -> int:
        return sum(1 for s in self.latencies if s > limit)


def quantile(values: list[float], q: float) -> float:
    """The ``q`` quantile by the nearest-rank rule (p99 of 100 values is the 99th); nan if none."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def hammer(url: str, seconds: float, clients: int, stop: threading.Event | None = None) -> Load:
    """``clients`` keep-alive sessions asking ``GET /status`` back to back for ``seconds``
    (or until ``stop`` is set); every answer's latency."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    stop = stop or threading.Event()
    begun = time.perf_counter()
    deadline = begun + seconds

    def client(n: int) -> None:
        with requests.Session() as session:
            while time.perf_counter() < deadline and not stop.is_set():
                start = time.perf_counter()
                try:
                    ok = session.get(f"{url}/status", timeout=10).status_code == 200
                except requests.RequestException:
                    ok = False
                if ok:
                    latencies[n].append(time.perf_counter() - start)
                else:
                    errors[n] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Load([s for one in latencies for s in one], sum(errors), time.perf_counter() - begun)


def multipart(
    field: str, filename: str, data_bytes: int, lead: bytes = b""
) -> tuple[dict[str, str], int, Iterator[bytes]]:
    """A multipart body with one WAV file part of ``data_bytes`` of 16 kHz PCM, ``lead``
    (real speech) first and quiet noise after it, made on the fly: its headers
    (``Content-Length`` known up front, as Bazarr's client sends it), its length, and the
    generator of its bytes."""
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode() + wav_header(data_bytes)
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    block = _noise(BLOCK)

    def body() -> Iterator[bytes]:
        yield head
        first = lead[:data_bytes]
        if first:
            yield first
        left = data_bytes - len(first)
        while left > 0:
            yield block if left >= BLOCK else block[:left]
            left -= BLOCK
        yield tail

    length = len(head) + data_bytes + len(tail)
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}", "Content-Length": str(length)}
    return headers, length, body()


def _noise(size: int) -> bytes:
    """Quiet pseudo-random 16-bit samples (a fixed seed: every upload of a size is the same)."""
    return np.random.default_rng(17).integers(-256, 256, size // 2, dtype=np.int16).tobytes()


def stream_upload(url: str, route: str, data_bytes: int, lead: bytes = b"") -> tuple[int, float, float, str]:
    """POST a made-up WAV of ``data_bytes`` (``lead`` first) to ``route``: (status, when the
    last byte was handed to the socket and when the answer came, both ``perf_counter``, body)."""
    headers, _, body = multipart("audio_file", "big.wav", data_bytes, lead)
    sent = [math.nan]

    def timed() -> Iterator[bytes]:
        yield from body
        sent[0] = time.perf_counter()

    with httpx.Client(timeout=httpx.Timeout(30.0, read=3600.0)) as client:
        answer = client.post(f"{url}{route}", content=timed(), headers=headers)
    return answer.status_code, sent[0], time.perf_counter(), answer.text


def post_asr(url: str, media: Path, route: str = "/asr") -> tuple[int, float, str]:
    """One ``/asr`` request as Bazarr sends it (SRT, language given); (status, seconds, body)."""
    params = {"task": "transcribe", "language": "en", "output": "srt", "encode": "true"} if route == "/asr" else {}
    start = time.perf_counter()
    with media.open("rb") as handle:
        files = {"audio_file": (media.name, handle)}
        answer = requests.post(f"{url}{route}", params=params, files=files, timeout=(5, 3600))
    return answer.status_code, time.perf_counter() - start, answer.text


def burst(url: str, media: Path, clients: int) -> tuple[float, list[tuple[int, float, str]]]:
    """``clients`` identical ``/asr`` requests let go at once; (wall seconds, each answer)."""
    gate = threading.Barrier(clients + 1)
    answers: list[tuple[int, float, str]] = []

    def client() -> None:
        gate.wait()
        answers.append(post_asr(url, media))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    gate.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start, answers


class RssSampler:
    """A thread reading ``VmRSS`` of ``pid`` every ``every`` seconds: (``perf_counter``, bytes)."""

    def __init__(self, pid: int, every: float = 0.01) -> None:
        self.pid, self.every = pid, every
        self.samples = [(time.perf_counter(), rss(pid))]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-rss")

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.samples.append((time.perf_counter(), rss(self.pid)))

    def peak(self, until: float = math.inf) -> int:
        """The highest RSS sampled up to ``until``."""
        return max(b for t, b in self.samples if t <= until)


def rss(pid: int, field: str = "VmRSS") -> int:
    """A memory figure of ``/proc/<pid>/status`` in bytes (``VmRSS`` now, ``VmHWM`` the peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def reset_peak(pid: int) -> bool:
    """Reset the kernel's peak RSS (``VmHWM``) of ``pid`` to its RSS now (Linux ≥ 4.0); False if refused."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True
