"""ingest: a transcription daemon for home servers and small studios."""

from __future__ import annotations

__version__ = "0.1.0"
