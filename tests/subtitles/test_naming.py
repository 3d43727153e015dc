from __future__ import annotations

from pathlib import Path

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
