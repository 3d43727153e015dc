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
import re
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit
from xml.parsers import expat
from xml.sax.saxutils import escape

import structlog

from ingest import outputs
from ingest.errors import StageError
from ingest.models import Job, JobResult
from ingest.plugins import hookimpl

NAMESPACE = "https://podcastindex.org/namespace/1.0"
# The namespace's first URL: the spec tells clients to treat it as the same namespace.
LEGACY_NAMESPACE = "https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md"
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

_TRANSCRIPT = {f"{NAMESPACE} transcript", f"{LEGACY_NAMESPACE} transcript"}  # expat's "uri local" names
_ITEM_PATH = ["rss", "channel", "item"]
# A start tag; group 1 is "/" for an empty element. '>' may appear inside quoted values.
_START_TAG = re.compile(rb"""<[^\s/>]+(?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*\s*(/?)>""")
_ATTRIBUTE = re.compile(rb"""(\s+)[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*')""")
_DECLARED_ENCODING = re.compile(rb"""^(?:\xef\xbb\xbf)?<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z][\w.-]*)["']""")
_ENCODING_VALUE = re.compile(r"""(^<\?xml[^>]*?encoding\s*=\s*)(["'])[\w.-]*\2""")

log = structlog.get_logger(__name__)

_locks: dict[Path, threading.Lock] = {}
_locks_guard = threading.Lock()


class FeedNotUpdated(Exception):
    """The feed was left as it was, for ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
            found.append(Tag(base + quote(path.name, safe=""), kind[1], result.language, kind[2]))
    return found


@dataclass
class _Item:
    scope: dict[str, str]  # namespace prefixes in scope at the item
    enclosures: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)  # <guid> and <link> texts
    transcripts: dict[str, tuple[int, int]] = field(default_factory=dict)  # url -> byte range of the tag
    last_child: tuple[int, int] = (0, 0)  # byte range of the item's last child element


class _Scanner:
    """One expat pass over the feed, noting byte offsets into ``data`` that an edit needs."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.parser = expat.ParserCreate("UTF-8", " ")  # data is UTF-8 whatever the declaration says
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end
        self.parser.StartNamespaceDeclHandler = self._namespace
        self.parser.CharacterDataHandler = self._text
        self.open: list[tuple[str, int, dict[str, str]]] = []  # name, start, attributes
        self.scopes: list[dict[str, str]] = [{}]
        self.pending: dict[str, str] = {}
        self.declared: dict[str, set[str]] = {}  # every prefix declared anywhere -> its URIs
        self.root = ""
        self.root_start = 0
        self.channel = False
        self.items: list[_Item] = []
        self.text: list[str] | None = None

    def scan(self) -> _Scanner:
        self.parser.Parse(self.data, True)
        return self

    def _path(self) -> list[str]:
        return [name for name, _, _ in self.open]

    def _namespace(self, prefix: str | None, uri: str) -> None:
        self.pending[prefix or ""] = uri
        self.declared.setdefault(prefix or "", set()).add(uri)

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        self.scopes.append({**self.scopes[-1], **self.pending})
        self.pending = {}
        start, path = self.parser.CurrentByteIndex, self._path()
        if not path:
            self.root, self.root_start = name, start
        elif path == ["rss"] and name == "channel":
            self.channel = True
        elif path == _ITEM_PATH[:2] and name == "item":
            self.items.append(_Item(self.scopes[-1]))
        elif path == _ITEM_PATH and name in ("guid", "link"):
            self.text = []
        self.open.append((name, start, attrs))

    def _text(self, data: str) -> None:
        if self.text is not None:
            self.text.append(data)

    def _end(self, _name: str) -> None:
        name, start, attrs = self.open.pop()
        self.scopes.pop()
        if self._path() != _ITEM_PATH:
            return
        item, end = self.items[-1], _element_end(self.data, start, self.parser.CurrentByteIndex)
        item.last_child = (start, end)
        if name == "enclosure":
            item.enclosures.append(attrs.get("url", ""))
        elif self.text is not None:
            item.ids.append("".join(self.text).strip())
            self.text = None
        elif name in _TRANSCRIPT:
            item.transcripts.setdefault(attrs.get("url", ""), (start, end))


def _element_end(data: bytes, start: int, index: int) -> int:
    """Where an element ends: expat reports an end tag's ``<``, or the end of an empty element."""
    tag = _START_TAG.match(data, start)
    if tag is not None and tag.group(1):
        return tag.end()
    return data.index(b">", index) + 1


def _names(url: str, name: str) -> bool:
    """Whether a URL's last path component, URL-decoded, is ``name`` (``tag:…:name`` too)."""
    try:
        last = unquote(urlsplit(url.strip()).path).rsplit("/", 1)[-1]
    except ValueError:
        return False
    return last == name or last.endswith(":" + name)


def _find_item(items: list[_Item], name: str) -> _Item:
    """The item whose enclosure names the file; failing that, whose guid or link does."""
    item = next((i for i in items if any(_names(u, name) for u in i.enclosures)), None)
    item = item or next((i for i in items if any(_names(u, name) for u in i.ids)), None)
    if item is None:
        raise FeedNotUpdated(f"no <item> has an enclosure, guid or link naming {name}")
    return item


def _prefix(scan: _Scanner, item: _Item) -> tuple[str, list[tuple[int, int, bytes]]]:
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
    root = _START_TAG.match(data, root_start)
    assert root is not None  # the document parsed, so its root has a start tag
    head = data[root.start() : root.end() - 1 - len(root.group(1))]
    at = root.start() + len(head.rstrip())
    seps = [m.group(1) for m in _ATTRIBUTE.finditer(head)]  # keeps one-attribute-a-line layouts
    return at, at, (seps[-1] if seps else b" ") + f'xmlns:{prefix}="{NAMESPACE}"'.encode()


def _separator(data: bytes, start: int) -> bytes:
    """The line break and indent before the element at ``start``: new siblings copy it."""
    line = data.rfind(b"\n", 0, start) + 1
    indent = data[line:start]
    if not line or indent.strip():
        return b""
    return (b"\r\n" if data[line - 2 : line - 1] == b"\r" else b"\n") + indent


def _plan(scan: _Scanner, item: _Item, wanted: list[Tag]) -> list[tuple[int, int, bytes]]:
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


def _read(feed: Path) -> bytes:
    try:
        return feed.read_bytes()
    except OSError as exc:
        raise FeedNotUpdated(f"cannot read it: {exc.strerror or exc}") from None


def _utf8(raw: bytes) -> bytes:
    """The feed's bytes as UTF-8, decoded by its BOM or declared encoding, without a BOM."""
    declared = _DECLARED_ENCODING.match(raw)
    codec = "utf-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    if declared is not None and declared.group(1).decode().lower().replace("_", "-") not in ("utf-8", "utf8"):
        codec = declared.group(1).decode()
    try:
        return raw.decode(codec).encode("utf-8")
    except (LookupError, UnicodeError) as exc:
        raise FeedNotUpdated(f"cannot decode it as {codec}: {exc}") from None


def _scan(data: bytes) -> _Scanner:
    try:
        found = _Scanner(data).scan()
    except expat.ExpatError as exc:
        raise FeedNotUpdated(f"not well-formed XML: {exc}") from None
    if found.root != "rss":
        raise FeedNotUpdated(f"the root element is <{found.root}>, not <rss>")
    if not found.channel:
        raise FeedNotUpdated("<rss> has no <channel>")
    return found


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
        raise FeedNotUpdated(f"cannot write it: {exc.strerror or exc}") from None
    except StageError as exc:
        raise FeedNotUpdated(exc.cause) from None
    with contextlib.suppress(OSError):  # the replacement is a new file: keep the feed's permissions
        feed.chmod(mode)


def publish(job: Job, feed: Path, wanted: list[Tag]) -> bool:
    """Bring the job's item in ``feed`` up to date with ``wanted``; ``False`` when it already was.

    Raises ``FeedNotUpdated``, the feed untouched, when the item cannot be updated.
    """
    feed = feed.resolve()  # one lock per file however it is named; a symlinked feed stays a symlink
    with _lock(feed):
        data = _utf8(_read(feed))
        found = _scan(data)
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
            raise FeedNotUpdated("feed_base_url is not set, so transcript URLs are unknown")
        wanted = tags(result, base_url)
        if not wanted:
            raise FeedNotUpdated("no Podcasting 2.0 transcript format among the outputs")
        changed = publish(job, feed, wanted)
    except FeedNotUpdated as exc:
        log.warning("feed_not_updated", feed=str(feed), file=job.path.name, reason=exc.reason)
        return
    event, emit = ("feed_updated", log.info) if changed else ("feed_current", log.debug)
    emit(event, feed=str(feed), file=job.path.name, transcripts=[t.url for t in wanted])
