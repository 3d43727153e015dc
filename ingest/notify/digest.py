"""Digests: many finished files told in one message, so a backfill does not send hundreds.

``Burst`` decides, file by file, whether a message goes out on its own or as a line
of the next digest; ``digest`` is the text of one (``DIGEST_FIELDS``).
"""

from __future__ import annotations

import collections
import socket
import threading
import time
from collections.abc import Callable

from ingest.notify.notice import Notice, human

DIGEST_FIELDS = frozenset({"count", "done", "failed", "skipped", "duration", "files", "host"})
MARKS = {"done": "✓", "failed": "✗", "skipped": "-"}


def digest(items: list[Notice], max_lines: int = 50) -> dict[str, str]:
    """Text for a digest of many files (``DIGEST_FIELDS``): counts, then one line a file."""
    lines = [_line(item) for item in items[:max_lines]]
    if len(items) > max_lines:
        lines.append(f"… and {len(items) - max_lines} more")
    counts = {event: sum(1 for i in items if i.event == event) for event in ("done", "failed", "skipped")}
    return {
        "count": str(len(items)),
        **{event: str(n) for event, n in counts.items()},
        "duration": human(sum(i.duration for i in items)),
        "files": "\n".join(lines),
        "host": items[0].host if items else socket.gethostname(),
    }


def _line(item: Notice) -> str:
    fields = item.fields()
    tail = f" ({fields['duration']}, {fields['language']})" if item.event == "done" else f": {fields['reason']}"
    return f"{MARKS.get(item.event, '-')} {fields['name']}{tail}"


class Burst:
    """Decides per finished file: a message of its own, or a line in the next digest.

    A file goes into a digest when ``always`` (a scan), when a digest is pending, or
    when more than ``after`` files finished within ``interval`` seconds. A digest goes
    to ``flush`` when it holds ``every`` files or ``interval`` seconds after its first.
    """

    def __init__(
        self, after: int, every: int, interval: float, always: bool, flush: Callable[[list[Notice]], None], name: str
    ) -> None:
        self.after, self.every, self.interval = after, every, interval
        self.always, self.flush, self.name = always, flush, name
        self._recent: collections.deque[float] = collections.deque()
        self._pending: list[Notice] = []
        self._timer: threading.Timer | None = None
        self._spent: list[threading.Timer] = []
        self._lock = threading.Lock()

    def add(self, item: Notice) -> bool:
        """``True`` when ``item`` went into a digest (sent now if it is full)."""
        with self._lock:
            now = time.monotonic()
            while self._recent and self._recent[0] <= now - self.interval:
                self._recent.popleft()
            self._recent.append(now)
            if not (self.always or self._pending or len(self._recent) > self.after):
                return False
            self._pending.append(item)
            full = self._take() if len(self._pending) >= self.every else []
            if self._pending and self._timer is None:
                self._timer = threading.Timer(self.interval, self._due)
                self._timer.name = f"ingest-{self.name}-digest"
                self._timer.start()
        if full:
            self.flush(full)
        return True

    def close(self) -> None:
        """Send what is pending; join every timer."""
        with self._lock:
            rest = self._take()
        for timer in self._spent:
            timer.join()
        self._spent.clear()
        if rest:
            self.flush(rest)

    def _due(self) -> None:
        with self._lock:
            if self._timer is not threading.current_thread():
                return  # a digest that filled up and went out meanwhile
            rest = self._take()
        if rest:
            self.flush(rest)

    def _take(self) -> list[Notice]:
        taken, self._pending = self._pending, []
        if self._timer is not None:
            self._timer.cancel()
            self._spent.append(self._timer)
            self._timer = None
        return taken
