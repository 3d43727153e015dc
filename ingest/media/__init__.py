"""Media in: probing with ffprobe, extracting and cleaning audio with ffmpeg, finding the speech."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    """``from ingest.media import choose_track``, the 0.1 path, for one more release."""
    if name == "choose_track":
        from ingest import _moved
        from ingest.media.probe import choose_track

        _moved.warn("ingest.media.choose_track", "ingest.media.probe.choose_track")
        globals()["choose_track"] = choose_track  # warned once
        return choose_track
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
