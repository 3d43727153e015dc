"""Finding a media file's subtitle files the way Plex and Jellyfin do, on real folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.subtitles import languages, sidecars


def make(folder: Path, *names: str) -> None:
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("1\n00:00:01,000 --> 00:00:02,000\nHello\n", encoding="utf-8")


def found(media: Path) -> dict[str, tuple]:
    """name relative to the media's folder → (language, sdh, forced, default, title)."""
    return {
        str(s.path.relative_to(media.parent)): (s.language, s.sdh, s.forced, s.default, s.title)
        for s in sidecars.find(media)
    }


def test_every_name_both_servers_read_with_language_and_flags(tmp_path):
    make(
        tmp_path,
        "Film (1986).mkv",
        "Film (1986).srt",
        "Film (1986).en.srt",
        "Film (1986).ENG.SRT",
        "Film (1986).ger.ssa",
        "Film (1986).deu.ass",
        "Film (1986).French.vtt",
        "Film (1986).pt-BR.srt",
        "Film (1986).en.sdh.srt",
        "Film (1986).sdh.en.srt",
        "Film (1986).en.cc.srt",
        "Film (1986).en.hi.srt",
        "Film (1986).hi.srt",
        "Film (1986).default.en.forced.ass",
        "Film (1986).es.foreign.srt",
        "Film (1986).English Commentary.en.srt",
        "Film (1986).en.sup",
        "Film (1986).nl.idx",
        "Film (1986).nl.sub",
        "Film (1986).it.smi",
        "Subs/Film (1986).sv.srt",
        "subs/Film (1986).da.srt",
        "Subtitles/Film (1986).fi.srt",
        "subtitles/Film (1986).no.srt",
        "Sub/Film (1986).pl.srt",
    )
    assert found(tmp_path / "Film (1986).mkv") == {
        "Film (1986).srt": (None, False, False, False, None),
        "Film (1986).en.srt": ("en", False, False, False, None),
        "Film (1986).ENG.SRT": ("en", False, False, False, None),
        "Film (1986).ger.ssa": ("de", False, False, False, None),
        "Film (1986).deu.ass": ("de", False, False, False, None),
        "Film (1986).French.vtt": ("fr", False, False, False, None),
        "Film (1986).pt-BR.srt": ("pt", False, False, False, None),
        "Film (1986).en.sdh.srt": ("en", True, False, False, None),
        "Film (1986).sdh.en.srt": ("en", True, False, False, None),
        "Film (1986).en.cc.srt": ("en", True, False, False, None),
        "Film (1986).en.hi.srt": ("en", True, False, False, None),  # hi beside a language: hearing impaired
        "Film (1986).hi.srt": ("hi", False, False, False, None),  # hi alone: Hindi
        "Film (1986).default.en.forced.ass": ("en", False, True, True, None),
        "Film (1986).es.foreign.srt": ("es", False, True, False, None),
        "Film (1986).English Commentary.en.srt": ("en", False, False, False, "English Commentary"),
        "Film (1986).en.sup": ("en", False, False, False, None),
        "Film (1986).nl.idx": ("nl", False, False, False, None),
        "Film (1986).nl.sub": ("nl", False, False, False, None),
        "Film (1986).it.smi": ("it", False, False, False, None),
        "Subs/Film (1986).sv.srt": ("sv", False, False, False, None),
        "subs/Film (1986).da.srt": ("da", False, False, False, None),
        "Subtitles/Film (1986).fi.srt": ("fi", False, False, False, None),
        "subtitles/Film (1986).no.srt": ("no", False, False, False, None),
        "Sub/Film (1986).pl.srt": ("pl", False, False, False, None),
    }


def test_the_last_language_in_the_name_wins_as_in_jellyfin(tmp_path):
    make(tmp_path, "Film.mkv", "Film.de.en.srt", "Film.eng.German.srt")
    assert {k: v[0] for k, v in found(tmp_path / "Film.mkv").items()} == {
        "Film.de.en.srt": "en",
        "Film.eng.German.srt": "de",
    }


def test_names_that_are_not_this_files_subtitles(tmp_path):
    make(
        tmp_path,
        "Show S01E02.mkv",
        "Show S01E02 - part.mkv",
        "Show S01E02 - part.en.srt",  # the other episode's
        "Show S01E020.en.srt",  # a name that only starts with the same letters
        "Show S01E02.en.txt",  # a transcript, not subtitles
        "Show S01E02.en.json",
        "Show S01E02.srt.bak",
        ".Show S01E02.en.srt.x1y2.ingest-tmp",  # ingest's own half-written file
        "extras/Show S01E02.en.srt",  # not a subtitles folder
        "Subs/Show S01E02/2_English.srt",  # nested: read by neither server
        "Subs/2_English.srt",  # a bare language: only when the media is alone in its folder
        "English.srt",
    )
    (tmp_path / "Show S01E02.en.srt").mkdir()  # a folder with a subtitle's name
    assert found(tmp_path / "Show S01E02.mkv") == {}
    assert list(found(tmp_path / "Show S01E02 - part.mkv")) == ["Show S01E02 - part.en.srt"]


def test_a_name_matching_a_longer_media_name_belongs_to_that_media(tmp_path):
    make(tmp_path, "Film.mkv", "Film.Part2.en.srt", "Subs/Film.Part2.de.srt")
    assert found(tmp_path / "Film.mkv") == {
        "Film.Part2.en.srt": ("en", False, False, False, "Part2"),  # Jellyfin: a title
        "Subs/Film.Part2.de.srt": ("de", False, False, False, "Part2"),
    }
    make(tmp_path, "Film.Part2.mkv")
    assert found(tmp_path / "Film.mkv") == {}
    assert list(found(tmp_path / "Film.Part2.mkv")) == ["Film.Part2.en.srt", "Subs/Film.Part2.de.srt"]


def test_a_media_file_alone_in_its_folder_takes_bare_language_names_as_plex_does(tmp_path):
    make(
        tmp_path,
        "Film (2001).mp4",
        "Subs/2_English.srt",
        "Subs/3_Spanish.srt",
        "subtitles/fr.forced.srt",
        "German.srt",
        "Other Film.en.srt",  # names another film: never taken
        "notes.srt",  # no language: nothing to go on
    )
    assert found(tmp_path / "Film (2001).mp4") == {
        "German.srt": ("de", False, False, False, None),
        "Subs/2_English.srt": ("en", False, False, False, None),
        "Subs/3_Spanish.srt": ("es", False, False, False, None),
        "subtitles/fr.forced.srt": ("fr", False, True, False, None),
    }
    make(tmp_path, "Film (2001) Trailer.mp4")
    assert found(tmp_path / "Film (2001).mp4") == {}


def test_parse_reads_one_name_against_a_stem(tmp_path):
    sidecar = sidecars.parse(tmp_path / "ep42.EN.Forced.SDH.vtt", "ep42")
    assert sidecar is not None and (sidecar.language, sidecar.sdh, sidecar.forced) == ("en", True, True)
    assert sidecars.parse(tmp_path / "ep42.en.txt", "ep42") is None
    assert sidecars.parse(tmp_path / "ep43.en.srt", "ep42") is None


def test_an_unreadable_folder_holds_no_subtitles(tmp_path):
    assert sidecars.find(tmp_path / "missing" / "Film.mkv") == []


@pytest.mark.parametrize(
    ("part", "code"),
    [
        ("en", "en"),
        ("EN", "en"),
        ("eng", "en"),
        ("ger", "de"),
        ("deu", "de"),
        ("English", "en"),
        ("german", "de"),
        ("pt-BR", "pt"),
        ("zh_Hans", "zh"),
        ("sdh", None),  # Southern Kurdish in ISO 639-3 alone: a flag in file names
        ("sub", None),
        ("dts", None),
        ("forced", None),
        ("Commentary", None),
        ("", None),
    ],
)
def test_language_from_a_part_of_a_file_name(part, code):
    assert languages.from_file_name(part) == code
