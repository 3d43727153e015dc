"""Sidecar names the way Plex and Jellyfin read them: ``<stem>.<lang>[.sdh][.forced].<ext>``."""

from __future__ import annotations

from pathlib import Path

from ingest.subtitles import languages


def sidecar(
    media: Path,
    language: str,
    ext: str,
    *,
    output_dir: Path | None = None,
    style: str = "639-1",
    sdh: bool = False,
    forced: bool = False,
    stem: str | None = None,
) -> Path:
    """Where the ``ext`` sidecar of ``media`` in ``language`` goes.

    ``Show S01E02.mkv`` → ``Show S01E02.en.srt``; with ``style="639-2/B"`` →
    ``Show S01E02.eng.srt``; flags follow the language (``.en.sdh.forced.srt``).
    ``stem`` replaces the media's own (``ep42-transcript`` → ``ep42-transcript.en.txt``).
    """
    parts = [media.stem if stem is None else stem, languages.sidecar_code(language, style)]
    if sdh:
        parts.append("sdh")
    if forced:
        parts.append("forced")
    return (output_dir or media.parent) / f"{'.'.join(parts)}.{ext}"
