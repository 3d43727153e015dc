"""Language codes: what users type, what containers tag, what Whisper and Plex want.

pycountry holds the ISO 639 tables; this module only maps between the forms.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pycountry
import pycountry.db

# Whisper's own code where it differs from ISO 639-1.
_WHISPER_QUIRKS = {"jv": "jw"}
_WHISPER_TO_ISO = {v: k for k, v in _WHISPER_QUIRKS.items()}
# Languages Whisper detects that have no ISO 639-1 or 639-2 code, only an ISO 639-3 one
# (Cantonese, "yue"): Jellyfin and Plex read 639-1 and 639-2 codes in file names, so the
# sidecar is named with the code of the macrolanguage the language belongs to (ISO 639-3's
# macrolanguage table: yue is one of the Chinese languages, zh/chi). Every other Whisper
# language has a 639-1 code or, for Hawaiian ("haw"), a 639-2 one. tests/subtitles checks both.
_MACROLANGUAGE = {"yue": "zh"}


@lru_cache(maxsize=512)
def _lookup(value: str) -> pycountry.db.Data | None:
    text = value.strip()
    low = text.lower()
    low = _WHISPER_TO_ISO.get(low, low)
    if len(low) == 2:
        return pycountry.languages.get(alpha_2=low)
    if len(low) == 3:
        return pycountry.languages.get(alpha_3=low) or pycountry.languages.get(bibliographic=low)
    try:
        return pycountry.languages.lookup(text)
    except LookupError:
        return None


def normalize(value: str) -> str:
    """ISO 639-1 when the language has one (``eng`` → ``en``), else ISO 639-3.

    Raises ``ValueError`` for something that is no language.
    """
    lang = _lookup(value)
    if lang is None:
        raise ValueError(f"{value!r} is not an ISO 639 language code or name")
    return getattr(lang, "alpha_2", None) or lang.alpha_3


def tag_to_code(tag: str | None) -> str | None:
    """A container's language tag (``eng``, ``ger``, ``und``) as ISO 639-1, or None."""
    if not tag or tag.lower() in {"und", "unk", "mis", "mul", "zxx"}:
        return None
    try:
        return normalize(tag)
    except ValueError:
        return None


@lru_cache(maxsize=1)
def whisper_languages() -> frozenset[str]:
    from faster_whisper.tokenizer import _LANGUAGE_CODES  # the engine's own list

    return frozenset(_LANGUAGE_CODES)


def whisper_code(value: str) -> str:
    """The code Whisper uses for ``value`` (``English``/``eng``/``en`` → ``en``)."""
    code = normalize(value)
    code = _WHISPER_QUIRKS.get(code, code)
    if code not in whisper_languages():
        raise ValueError(f"{value!r} is not a language Whisper knows")
    return code


def sidecar_code(code: str, style: str = "639-1") -> str:
    """The code in a sidecar name: ``en`` by default, ``eng``/``ger`` for 639-2/B; a
    language with only an ISO 639-3 code is named by its macrolanguage (``yue`` → ``zh``)."""
    lang = _lookup(_MACROLANGUAGE.get(code.strip().lower(), code))
    if lang is None:
        return code
    if style == "639-2/B":
        return getattr(lang, "bibliographic", None) or lang.alpha_3
    return getattr(lang, "alpha_2", None) or lang.alpha_3


_REGION_TAG = re.compile(r"^([a-z]{2,3})[-_][a-z0-9]{2,4}$")  # en-US, pt_BR, zh-Hans


@lru_cache(maxsize=1024)
def from_file_name(part: str) -> str | None:
    """The language one dot-separated part of a subtitle's file name names, or None.

    What Plex and Jellyfin read there: an ISO 639-1 code, a 639-2/B or /T code, a
    region-tagged code (``pt-BR``) or an English name (``English``), in any case.
    Returned as ``normalize`` returns it. A three-letter code that is only in ISO 639-3
    is refused: that table names thousands of languages whose codes are everyday words
    in file names (``sdh``, ``sub``, ``dts``).
    """
    low = part.strip().lower()
    if match := _REGION_TAG.match(low):
        low = match.group(1)
    if len(low) == 2:
        lang = pycountry.languages.get(alpha_2=low)
    elif len(low) == 3:
        lang = pycountry.languages.get(bibliographic=low) or pycountry.languages.get(alpha_3=low)
        if lang is not None and not (getattr(lang, "alpha_2", None) or getattr(lang, "bibliographic", None)):
            lang = None
    else:
        lang = pycountry.languages.get(name=low)
    return None if lang is None else getattr(lang, "alpha_2", None) or lang.alpha_3
