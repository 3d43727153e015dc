"""Podcast publishing: link a finished job's transcripts from the podcast's RSS feed.

After a job that ended ``done``, when ``feed`` is set, the feed's ``<item>`` for the
media file gains one ``<podcast:transcript>`` per transcript written. The item is the
one whose ``<enclosure url>`` ends in the media file's name (URL-decoded), else one
whose ``<guid>`` or ``<link>`` does.

The feed is edited in place, never re-serialised. expat (the standard library's parser,
the one ElementTree is built on) reports where each element starts; only the item's
new or replaced tags and, when needed, one ``xmlns`` attribute on ``<rss>`` change.
Comments, CDATA, the DOCTYPE, namespace prefixes, attribute quoting, entity references
and whitespace stay exactly as the publisher's tool wrote them; an ElementTree round
trip would lose or rewrite all of those.

Edits to one feed are serialised by a lock per feed file, so two jobs finishing at once
in this daemon never lose an update. Another program editing the feed at the same
moment is not covered: the file is replaced atomically, but its edit may be lost.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import stat
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit
from xml.sax.saxutils import escape

import structlog

from ingest import Job, JobResult, StageError, hookimpl, outputs

from . import feedxml
from .feedxml import LEGACY_NAMESPACE, NAMESPACE

PREFIX = "podcast"
# (file name ending, MIME type, rel="captions"): only types the namespace's transcript tag lists.
# Any other ``.json`` is ingest's own JSON, not a Podcasting 2.0 transcript, and is skipped.
TYPES = (
    (".transcript.json", "application/json", False),
    (".vtt", "text/vtt", True),
    (".srt", "application/x-subrip", True),
    (".html", "text/html", False),
    (".txt", "text/plain", False),
)
UTF8_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'

_ENCODING_VALUE = re.compile(r"""(^<\?xml[^>]*?encoding\s*=\s*)(["'])[\w.-]*\2""")

log = structlog.get_logger(__name__)

_locks: dict[Path, threading.Lock] = {}
_locks_guard = threading.Lock()


@dataclass(frozen=True)
class Tag:
    """One ``<podcast:transcript>`` to have in the item."""

    url: str
    type: str
    language: str | None
    captions: bool

    def render(self, prefix: str) -> bytes:
        attrs = [("url", self.url), ("type", self.type)]
        attrs += [("language", self.language)] if self.language else []
        attrs += [("rel", "captions")] if self.captions else []
        body = " ".join(f'{name}="{escape(value, {chr(34): "&quot;"})}"' for name, value in attrs)
        return f"<{prefix}:transcript {body} />".encode()


def tags(result: JobResult, base_url: str) -> list[Tag]:
    """The tags for the job's outputs that are Podcasting 2.0 transcripts, in output order."""
    base = base_url.rstrip("/") + "/"
    found = []
    for path in result.outputs:
        kind = next((t for t in TYPES if path.name.lower().endswith(t[0])), None)
        if kind is not None:
            found.append(Tag(base + quote(os.fsencode(path.name), safe=""), kind[1], result.language, kind[2]))
    return found


def _names(url: str, name: str) -> bool:
    """Whether a URL's last path component, URL-decoded, is ``name`` (``tag:…:name`` too)."""
    try:
        last = unquote(urlsplit(url.strip()).path, errors="surrogateescape").rsplit("/", 1)[-1]  # as os.fsdecode
    except ValueError:
        return False
    return last == name or last.endswith(":" + name)


def _find_item(items: list[feedxml.Item], name: str) -> feedxml.Item:
    """The item whose enclosure names the file; failing that, whose guid or link does."""
    item = next((i for i in items if any(_names(u, name) for u in i.enclosures)), None)
    item = item or next((i for i in items if any(_names(u, name) for u in i.ids)), None)
    if item is None:
        raise feedxml.FeedNotUpdated(f"no <item> has an enclosure, guid or link naming {name}")
    return item


def _prefix(scan: feedxml.Scanner, item: feedxml.Item) -> tuple[str, list[tuple[int, int, bytes]]]:
    """The prefix to write tags with, and the edit declaring it on ``<rss>`` when none is in scope."""
    for uri in (NAMESPACE, LEGACY_NAMESPACE):
        prefix = next((p for p, u in item.scope.items() if p and u == uri), None)
        if prefix:
            return prefix, []
    # A prefix nothing in the feed binds to another namespace: the new declaration shadows nothing.
    names = (PREFIX if n == 1 else f"{PREFIX}{n}" for n in itertools.count(1))
    prefix = next(p for p in names if scan.declared.get(p, set()) <= {NAMESPACE})
    return prefix, [_declare(scan.data, scan.root_start, prefix)]


def _declare(data: bytes, root_start: int, prefix: str) -> tuple[int, int, bytes]:
    """The edit adding ``xmlns:prefix`` after the root's last attribute, spaced like the others."""
    root = feedxml.START_TAG.match(data, root_start)
    assert root is not None  # the document parsed, so its root has a start tag
    head = data[root.start() : root.end() - 1 - len(root.group(1))]
    at = root.start() + len(head.rstrip())
    seps = [m.group(1) for m in feedxml.ATTRIBUTE.finditer(head)]  # keeps one-attribute-a-line layouts
    return at, at, (seps[-1] if seps else b" ") + f'xmlns:{prefix}="{NAMESPACE}"'.encode()


def _separator(data: bytes, start: int) -> bytes:
    """The line break and indent before the element at ``start``: new siblings copy it."""
    line = data.rfind(b"\n", 0, start) + 1
    indent = data[line:start]
    if not line or indent.strip():
        return b""
    return (b"\r\n" if data[line - 2 : line - 1] == b"\r" else b"\n") + indent


def _plan(scan: feedxml.Scanner, item: feedxml.Item, wanted: list[Tag]) -> list[tuple[int, int, bytes]]:
    """Edits as ``(start, end, replacement)``: same-url tags replaced, new ones after the last child."""
    prefix, edits = _prefix(scan, item)
    new = b""
    sep = _separator(scan.data, item.last_child[0])
    for tag in wanted:
        if tag.url in item.transcripts:
            edits.append((*item.transcripts[tag.url], tag.render(prefix)))
        else:
            new += sep + tag.render(prefix)
    if new:
        edits.append((item.last_child[1], item.last_child[1], new))
    return edits


def _apply(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        data = data[:start] + replacement + data[end:]
    return data


def _declare_utf8(text: str) -> str:
    """``text`` with an XML declaration naming UTF-8, the encoding it is written in."""
    if not text.startswith("<?xml"):
        return UTF8_DECLARATION + ("\r\n" if "\r\n" in text[:4096] else "\n") + text
    return _ENCODING_VALUE.sub(r"\1\2UTF-8\2", text, count=1)


def _lock(feed: Path) -> threading.Lock:
    """The lock for one feed file: the daemon's workers share one process."""
    with _locks_guard:
        return _locks.setdefault(feed, threading.Lock())


def _write(job: Job, feed: Path, data: bytes) -> None:
    try:
        mode = stat.S_IMODE(feed.stat().st_mode)
        outputs.write_text(job.path, feed, _declare_utf8(data.decode("utf-8")), overwrite=True)
    except OSError as exc:
        raise feedxml.FeedNotUpdated(f"cannot write it: {exc.strerror or exc}") from None
    except StageError as exc:
        raise feedxml.FeedNotUpdated(exc.cause) from None
    with contextlib.suppress(OSError):  # the replacement is a new file: keep the feed's permissions
        feed.chmod(mode)


def publish(job: Job, feed: Path, wanted: list[Tag]) -> bool:
    """Bring the job's item in ``feed`` up to date with ``wanted``; ``False`` when it already was.

    Raises ``feedxml.FeedNotUpdated``, the feed untouched, when the item cannot be updated.
    """
    feed = feed.resolve()  # one lock per file however it is named; a symlinked feed stays a symlink
    with _lock(feed):
        data = feedxml.utf8(feedxml.read(feed))
        found = feedxml.scan(data)
        edited = _apply(data, _plan(found, _find_item(found.items, job.path.name), wanted))
        if edited == data:
            return False
        _write(job, feed, edited)
    return True


@hookimpl
def ingest_job_finished(job: Job, result: JobResult) -> None:
    feed, base_url = job.options.feed, job.options.feed_base_url
    if result.status != "done" or feed is None:
        return
    try:
        if not base_url:
            raise feedxml.FeedNotUpdated("feed_base_url is not set, so transcript URLs are unknown")
        wanted = tags(result, base_url)
        if not wanted:
            raise feedxml.FeedNotUpdated("no Podcasting 2.0 transcript format among the outputs")
        changed = publish(job, feed, wanted)
    except feedxml.FeedNotUpdated as exc:
        log.warning("feed_not_updated", feed=str(feed), file=job.path.name, reason=exc.reason)
        return
    event, emit = ("feed_updated", log.info) if changed else ("feed_current", log.debug)
    emit(event, feed=str(feed), file=job.path.name, transcripts=[t.url for t in wanted])
