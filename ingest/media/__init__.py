"""Media in: probing with ffprobe, extracting and cleaning audio with ffmpeg, finding the speech."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    """``from ingest.media import choose_track``, the 0.1 path, for one more release."""
    from ingest import _moved

    value = globals()[name] = _moved.attribute(__name__, name, {"choose_track": "ingest.media.probe"})  # warned once
    return value
