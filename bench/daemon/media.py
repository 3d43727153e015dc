"""What the daemon bench feeds the daemon: the dropped clip, a tree of fake files, a seeded ledger."""

from __future__ import annotations

from pathlib import Path

from bench.daemon.process import LEDGER, ROOT
from ingest.daemon.mediafiles import WatchSpec, scan
from ingest.ledger.fingerprint import fingerprint
from ingest.ledger.sqlite import Ledger

JFK = ROOT.parent / "shared" / "media" / "jfk.flac"
OWNER = "bench:0:w0"


def make_tree(root: Path, files: int, per_folder: int = 100) -> Path:
    """``files`` fake .mkv files of a dozen bytes, ``per_folder`` to a folder."""
    for n in range(files):
        folder = root / f"show-{n // per_folder:03d}"
        if n % per_folder == 0:
            folder.mkdir(parents=True)
        (folder / f"episode-{n % per_folder:03d}.mkv").write_bytes(b"not a video\n")
    return root


def seed_ledger(folder: Path, tree: Path) -> Path:
    """A ledger in which every file of ``tree`` has run and failed, as the daemon leaves it
    once it has tried them all; made through the ledger's own API, not by hand."""
    path = folder / LEDGER
    with Ledger(path) as ledger:
        for media in scan(WatchSpec(tree, key=str(tree))):
            ledger.observe(media, fingerprint(media), watch=str(tree))
        while (entry := ledger.claim(OWNER, 60)) is not None:
            ledger.finish_failed(entry.path, OWNER, "bench: not media", 1, lambda _: 0.0)
    return path
