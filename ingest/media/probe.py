"""Probing media with ffprobe and choosing the audio track to transcribe."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from stat import S_ISDIR, S_ISREG
from typing import Any

import structlog

from ingest.errors import MediaError, file_kind
from ingest.models import AudioTrack, MediaFile, SubtitleTrack
from ingest.subtitles import languages

log = structlog.get_logger(__name__)

TEXT_SUBTITLE_CODECS = frozenset({"subrip", "ass", "ssa", "mov_text", "webvtt", "text", "srt"})
PROBE_TIMEOUT = 60.0


def check_readable(path: Path) -> None:
    """Raise ``MediaError`` for a path that cannot be a media file we can read."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise MediaError(path, "no such file") from None
    except PermissionError:  # a folder on the way that this user may not enter (no x bit)
        raise MediaError(path, f"permission denied: cannot enter {_closed_folder(path)}") from None
    except OSError as exc:  # a share gone stale, a name too long
        raise MediaError(path, f"cannot read: {exc.strerror or exc}") from None
    if S_ISDIR(st.st_mode):
        raise MediaError(path, "is a folder, not a media file", permanent=True)
    if not os.access(path, os.R_OK):
        raise MediaError(path, "permission denied (cannot read)")
    if not S_ISREG(st.st_mode):
        raise MediaError(
            path, f"not a regular file ({file_kind(st.st_mode)}); only regular files are media", permanent=True
        )
    if st.st_size == 0:
        raise MediaError(path, "empty file (0 bytes)", permanent=True)


def _closed_folder(path: Path) -> Path:
    """The first folder above ``path`` that this user cannot search."""
    for folder in reversed(path.absolute().parents):
        if not os.access(folder, os.X_OK):
            return folder
    return path.parent


def probe(path: Path, timeout: float = PROBE_TIMEOUT) -> MediaFile:
    """Probe a file with ffprobe; raise ``MediaError`` with ffprobe's own words."""
    check_readable(path)
    # Absolute, so a name that starts with "-" or holds "name:" is never an option or a protocol.
    cmd = ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path.absolute())]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise MediaError(path, f"ffprobe did not finish in {timeout:.0f} s") from None
    except FileNotFoundError:
        raise MediaError(path, "ffprobe is not installed (apt-get install ffmpeg)") from None
    if proc.returncode != 0:
        raise MediaError(path, f"not a readable media file: {ffmpeg_message(proc.stderr)}", permanent=True)
    return parse(path, json.loads(proc.stdout or b"{}"))


def parse(path: Path, info: dict[str, Any]) -> MediaFile:
    streams = info.get("streams", [])
    fmt = info.get("format", {})
    audio = tuple(_audio_track(s) for s in streams if s.get("codec_type") == "audio")
    if not audio:
        raise MediaError(path, "no audio stream", permanent=True)
    subs = tuple(_subtitle_track(s) for s in streams if s.get("codec_type") == "subtitle")
    video = any(s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic") for s in streams)
    durations = [_float(fmt.get("duration"))] + [_float(s.get("duration")) for s in streams]
    return MediaFile(
        path=path,
        size=int(fmt.get("size") or path.stat().st_size),
        duration=max(durations),
        format_name=fmt.get("format_name", ""),
        audio_tracks=audio,
        subtitle_tracks=subs,
        has_video=video,
    )


def choose_track(media: MediaFile, preferences: list[str] | tuple[str, ...] = ()) -> AudioTrack:
    """The first track in a preferred language, else the default track, else the first."""
    for lang in preferences:
        for track in media.audio_tracks:
            if track.language == lang:
                return track
    for track in media.audio_tracks:
        if track.default:
            return track
    return media.audio_tracks[0]


def ffmpeg_message(stderr: bytes | str, limit: int = 3) -> str:
    """The last meaningful lines ffmpeg/ffprobe printed, joined for one log line."""
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return " | ".join(lines[-limit:]) or "no error text"


def _audio_track(stream: dict[str, Any]) -> AudioTrack:
    tags = {k.lower(): v for k, v in stream.get("tags", {}).items()}
    return AudioTrack(
        index=int(stream["index"]),
        codec=stream.get("codec_name", "unknown"),
        channels=int(stream.get("channels") or 0),
        channel_layout=stream.get("channel_layout", ""),
        language=languages.tag_to_code(tags.get("language")),
        default=bool(stream.get("disposition", {}).get("default")),
        title=tags.get("title"),
        duration=_float(stream.get("duration")) or _clock(tags.get("duration")),
    )


def _subtitle_track(stream: dict[str, Any]) -> SubtitleTrack:
    tags = {k.lower(): v for k, v in stream.get("tags", {}).items()}
    codec = stream.get("codec_name", "unknown")
    return SubtitleTrack(
        index=int(stream["index"]),
        codec=codec,
        language=languages.tag_to_code(tags.get("language")),
        forced=bool(stream.get("disposition", {}).get("forced")),
        text=codec in TEXT_SUBTITLE_CODECS,
    )


def _clock(value: str | None) -> float:
    """Matroska's per-stream DURATION tag, ``HH:MM:SS.fraction``, in seconds."""
    try:
        hours, minutes, seconds = (value or "").split(":")
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    except ValueError:
        return 0.0


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0
