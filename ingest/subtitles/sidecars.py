"""Subtitle files that belong to a media file, found and read the way Plex and Jellyfin do.

What the two servers read (their documentation and scanners):

- Jellyfin: files in the media's own folder named like the media (case-insensitive),
  optionally followed by ``.``-separated parts: a language (when there are several, the
  last one wins), the flags ``default``, ``forced``/``foreign`` and ``sdh``/``cc``/``hi``
  (``hi`` alone is Hindi; beside another language it means hearing impaired), and any
  other text as the track's title: ``Film.default.en.forced.ass``, ``Film.Commentary.en.srt``.
- Plex: the media's folder and its ``sub``, ``subs``, ``subtitle`` and ``subtitles``
  subfolders; ``Film.en.srt``, ``Film.en.forced.srt``, ``Film.en.sdh.srt``; and, when the
  folder holds a single media file, any subtitle file there whatever its name.

This module reads the union of both, in any case (``Subs/``, ``.ENG.SRT``), with limits
so that a file is never credited with another file's subtitles:

- a name that matches a longer media name in the same folder belongs to that media
  (``Film.Part2.en.srt`` is ``Film.Part2.mkv``'s when that file exists);
- a name that does not start with the media's name counts only when the media is alone
  in its folder *and* the name is nothing but a language and flags (``English.srt``,
  ``Subs/2_English.srt``, ``en.forced.srt``). ``Show S01E02.en.srt`` is never taken for
  ``Show S01E02 - part.mkv``: it names another file.

Folders nested deeper (``Subs/<episode>/2_English.srt``, as some releases ship them) are
read by neither server and not here. ``.txt`` is not a subtitle: it is ingest's own
transcript format, and a podcaster's ``ep42-transcript.en.txt`` (or ``ep42.en.txt``) is a
transcript.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ingest.daemon.mediafiles import MEDIA_EXTENSIONS
from ingest.subtitles import languages

SUBTITLE_EXTENSIONS = frozenset({"srt", "vtt", "ass", "ssa", "smi", "sami", "sub", "idx", "sup", "mks"})
SUBFOLDERS = frozenset({"sub", "subs", "subtitle", "subtitles"})  # compared case-insensitively
_FORCED = frozenset({"forced", "foreign"})
_SDH = frozenset({"sdh", "cc", "hi"})
_TRACK_NUMBER = re.compile(r"^\d+_(?=\D)")  # "2_English": a release's track order, not part of the language


@dataclass(frozen=True)
class Sidecar:
    """One subtitle file a media server would show for a media file."""

    path: Path
    language: str | None  # as ``languages.normalize`` gives it; None when the name does not say
    sdh: bool = False
    forced: bool = False
    default: bool = False
    title: str | None = None  # name parts that are neither a language nor a flag


def find(media: Path) -> list[Sidecar]:
    """Every subtitle file Plex or Jellyfin would show for ``media``, in path order."""
    folder = media.parent
    files, dirs = _listing(folder)
    others = [Path(n).stem for n in files if f".{_ext(n)}" in MEDIA_EXTENSIONS and n != media.name]
    found = []
    for where in [folder, *(folder / d for d in dirs if d.casefold() in SUBFOLDERS)]:
        for name in files if where == folder else _listing(where)[0]:
            sidecar = _belonging(where / name, media.stem, others, alone=not others)
            if sidecar is not None:
                found.append(sidecar)
    return sorted(found, key=lambda s: str(s.path))


def parse(path: Path, stem: str) -> Sidecar | None:
    """``path`` read as a subtitle of the media named ``stem``; None when its name is not one."""
    if _ext(path.name) not in SUBTITLE_EXTENSIONS:
        return None
    rest = _after_stem(_base(path), stem)
    return None if rest is None else _read(path, rest.split(".") if rest else [])


def _belonging(path: Path, stem: str, others: list[str], alone: bool) -> Sidecar | None:
    sidecar = parse(path, stem)
    if sidecar is not None:
        longer = [o for o in others if len(o) > len(stem) and _after_stem(_base(path), o) is not None]
        return None if longer else sidecar
    if alone and _ext(path.name) in SUBTITLE_EXTENSIONS:
        loose = _read(path, _TRACK_NUMBER.sub("", _base(path)).split("."))
        if loose.language is not None and loose.title is None:  # nothing but a language and flags
            return loose
    return None


def _read(path: Path, parts: list[str]) -> Sidecar:
    """Flags and language from the name parts after the media's name, Jellyfin's way."""
    words = [p.casefold() for p in parts]
    flags = set(words) & (_FORCED | _SDH | {"default"})
    rest = [p for p, w in zip(parts, words, strict=True) if w not in flags and p]
    langs = [code for code in map(languages.from_file_name, rest) if code is not None]
    if "hi" in flags and not langs:
        langs, flags = ["hi"], flags - {"hi"}  # "hi" alone names Hindi, not hearing impaired
    title = [p for p in rest if languages.from_file_name(p) is None]
    return Sidecar(
        path=path,
        language=langs[-1] if langs else None,
        sdh=bool(flags & _SDH),
        forced=bool(flags & _FORCED),
        default="default" in flags,
        title=".".join(title) or None,
    )


def _after_stem(base: str, stem: str) -> str | None:
    """What follows ``stem`` in ``base`` ("" for the same name), or None when ``base`` is
    not ``stem`` followed by a dot. Case-insensitive, as both servers compare."""
    if base.casefold() == stem.casefold():
        return ""
    head = base[: len(stem) + 1]
    return base[len(stem) + 1 :] if head.casefold() == f"{stem}.".casefold() else None


def _listing(folder: Path) -> tuple[list[str], list[str]]:
    """Names of the files and of the folders in ``folder``, hidden ones left out (ingest's
    own temporary files among them); an unreadable folder holds nothing we can see."""
    files: list[str] = []
    dirs: list[str] = []
    try:
        for entry in os.scandir(folder):
            if not entry.name.startswith("."):
                (dirs if entry.is_dir() else files if entry.is_file() else []).append(entry.name)
    except OSError:
        pass
    return sorted(files), sorted(dirs)


def _base(path: Path) -> str:
    return path.name.rsplit(".", 1)[0]


def _ext(name: str) -> str:
    return name.rsplit(".", 1)[-1].casefold() if "." in name else ""
