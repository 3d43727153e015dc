from __future__ import annotations

from pathlib import Path

import pycountry
import pytest

from ingest.subtitles import languages, naming


@pytest.mark.parametrize(
    ("lang", "kwargs", "expected"),
    [
        ("en", {}, "Show S01E02.en.srt"),
        ("en", {"style": "639-2/B"}, "Show S01E02.eng.srt"),
        ("de", {"style": "639-2/B"}, "Show S01E02.ger.srt"),
        ("de", {}, "Show S01E02.de.srt"),
        ("en", {"sdh": True}, "Show S01E02.en.sdh.srt"),
        ("en", {"forced": True}, "Show S01E02.en.forced.srt"),
        ("en", {"sdh": True, "forced": True}, "Show S01E02.en.sdh.forced.srt"),
        ("haw", {}, "Show S01E02.haw.srt"),
    ],
)
def test_sidecar_names_as_plex_and_jellyfin_read_them(lang, kwargs, expected):
    media = Path("/srv/tv/Show S01E02.mkv")
    assert naming.sidecar(media, lang, "srt", **kwargs) == Path("/srv/tv") / expected


def test_output_dir_and_dotted_stems():
    media = Path("/in/Movie.2024.1080p.mkv")
    assert naming.sidecar(media, "fr", "vtt", output_dir=Path("/out")) == Path("/out/Movie.2024.1080p.fr.vtt")


@pytest.mark.parametrize(
    ("given", "code"), [("eng", "en"), ("ger", "de"), ("deu", "de"), ("French", "fr"), ("jw", "jv")]
)
def test_language_normalisation(given, code):
    assert languages.normalize(given) == code


def test_whisper_codes_and_container_tags():
    assert languages.whisper_code("Javanese") == "jw"
    assert languages.tag_to_code("und") is None
    assert languages.tag_to_code("ger") == "de"
    with pytest.raises(ValueError, match="not a language Whisper knows"):
        languages.whisper_code("Klingon")


# Jellyfin reads a sidecar's language from its name through its ISO 639-2 table (B and T
# codes, with the 639-1 code beside each): a 639-1 code, or a 639-2 code. pycountry marks
# 639-2 membership only where the language also has a 639-1 or a B code; Hawaiian is in
# Jellyfin's table (haw) with neither.
JELLYFIN_639_2_ONLY = frozenset({"haw"})


def _jellyfin_knows(code: str) -> bool:
    if len(code) == 2:
        return pycountry.languages.get(alpha_2=code) is not None
    lang = pycountry.languages.get(bibliographic=code) or pycountry.languages.get(alpha_3=code)
    has_639_2 = lang is not None and (getattr(lang, "alpha_2", None) or getattr(lang, "bibliographic", None))
    return bool(has_639_2) or code in JELLYFIN_639_2_ONLY


@pytest.mark.parametrize("style", ["639-1", "639-2/B"])
def test_every_language_whisper_detects_gets_a_code_jellyfin_knows(style):
    unknown = {c: languages.sidecar_code(c, style) for c in sorted(languages.whisper_languages())}
    unknown = {c: code for c, code in unknown.items() if not _jellyfin_knows(code)}
    assert unknown == {}


def test_cantonese_is_named_as_chinese():
    assert naming.sidecar(Path("/p/ep1.mp3"), "yue", "srt").name == "ep1.zh.srt"
    assert naming.sidecar(Path("/p/ep1.mp3"), "yue", "srt", style="639-2/B").name == "ep1.chi.srt"
