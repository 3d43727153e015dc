"""Reading a podcast RSS feed for an in-place edit: bytes as UTF-8, and where things are.

One expat pass (the standard library's parser) notes the byte offsets an edit needs:
the root's start tag, each ``<item>``'s enclosures, guid/link texts, existing
``<podcast:transcript>`` tags and last child, and the namespace prefixes in scope.
``podcast_feed`` plans and applies its edits on those offsets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

NAMESPACE = "https://podcastindex.org/namespace/1.0"
# The namespace's first URL: the spec tells clients to treat it as the same namespace.
LEGACY_NAMESPACE = "https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md"
_TRANSCRIPT = {f"{NAMESPACE} transcript", f"{LEGACY_NAMESPACE} transcript"}  # expat's "uri local" names
_ITEM_PATH = ["rss", "channel", "item"]
# A start tag; group 1 is "/" for an empty element. '>' may appear inside quoted values.
START_TAG = re.compile(rb"""<[^\s/>]+(?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*\s*(/?)>""")
ATTRIBUTE = re.compile(rb"""(\s+)[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*')""")
_DECLARED_ENCODING = re.compile(rb"""^(?:\xef\xbb\xbf)?<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z][\w.-]*)["']""")


class FeedNotUpdated(Exception):
    """The feed was left as it was, for ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Item:
    scope: dict[str, str]  # namespace prefixes in scope at the item
    enclosures: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)  # <guid> and <link> texts
    transcripts: dict[str, tuple[int, int]] = field(default_factory=dict)  # url -> byte range of the tag
    last_child: tuple[int, int] = (0, 0)  # byte range of the item's last child element


class Scanner:
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
        self.items: list[Item] = []
        self.text: list[str] | None = None

    def scan(self) -> Scanner:
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
            self.items.append(Item(self.scopes[-1]))
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
        item, end = self.items[-1], element_end(self.data, start, self.parser.CurrentByteIndex)
        item.last_child = (start, end)
        if name == "enclosure":
            item.enclosures.append(attrs.get("url", ""))
        elif self.text is not None:
            item.ids.append("".join(self.text).strip())
            self.text = None
        elif name in _TRANSCRIPT:
            item.transcripts.setdefault(attrs.get("url", ""), (start, end))


def element_end(data: bytes, start: int, index: int) -> int:
    """Where an element ends: expat reports an end tag's ``<``, or the end of an empty element."""
    tag = START_TAG.match(data, start)
    if tag is not None and tag.group(1):
        return tag.end()
    return data.index(b">", index) + 1


def read(feed: Path) -> bytes:
    try:
        return feed.read_bytes()
    except OSError as exc:
        raise FeedNotUpdated(f"cannot read it: {exc.strerror or exc}") from None


def utf8(raw: bytes) -> bytes:
    """The feed's bytes as UTF-8, decoded by its BOM or declared encoding, without a BOM."""
    declared = _DECLARED_ENCODING.match(raw)
    codec = "utf-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    if declared is not None and declared.group(1).decode().lower().replace("_", "-") not in ("utf-8", "utf8"):
        codec = declared.group(1).decode()
    try:
        return raw.decode(codec).encode("utf-8")
    except (LookupError, UnicodeError) as exc:
        raise FeedNotUpdated(f"cannot decode it as {codec}: {exc}") from None


def scan(data: bytes) -> Scanner:
    try:
        found = Scanner(data).scan()
    except expat.ExpatError as exc:
        raise FeedNotUpdated(f"not well-formed XML: {exc}") from None
    if found.root != "rss":
        raise FeedNotUpdated(f"the root element is <{found.root}>, not <rss>")
    if not found.channel:
        raise FeedNotUpdated("<rss> has no <channel>")
    return found
