"""The Plex plugin speaking real HTTP to a loopback server.

Plex Media Server cannot run here, so ``http_recorder`` stands in for it: a real HTTP
server scripted with the answers Plex gives to the two endpoints the plugin uses
(``/library/sections`` as Plex's XML, an empty ``200`` for a refresh), recording what
arrived for the tests to compare with Plex's API.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from ingest_plugins import faster_whisper, plex, srt
from structlog.testing import capture_logs

from ingest import pipeline, settings
from ingest.errors import ConfigError
from ingest.models import Job
from ingest.settings import options
from tests.support.serverkit import Kit, make_job

TOKEN = "pLeXt0kEn-abc123"
SECTIONS = "/library/sections"
KIT = Kit(plex, "INGEST_PLEX_TOKEN", TOKEN)
finish, events = KIT.finish, KIT.events


def sections_xml(*libraries: tuple[str, str, list[str]]) -> bytes:
    """``GET /library/sections`` as Plex answers it: one Directory (id, title, folders) per library."""
    rows = []
    for key, title, locations in libraries:
        kind = "show" if "TV" in title else "movie"
        inner = "".join(f'<Location id="{key}{i}" path="{path}" />' for i, path in enumerate(locations))
        rows.append(
            f'<Directory allowSync="1" art="/:/resources/{kind}-fanart.jpg" filters="1" refreshing="0" '
            f'key="{key}" type="{kind}" title="{title}" agent="tv.plex.agents.{kind}" scanner="Plex {title}" '
            f'language="en-US" uuid="{key}-uuid" updatedAt="1700000000" createdAt="1600000000">{inner}</Directory>'
        )
    head = '<?xml version="1.0" encoding="UTF-8"?>\n'
    head += f'<MediaContainer size="{len(rows)}" allowSync="0" title1="Plex Library">'
    return (head + "".join(rows) + "</MediaContainer>\n").encode()


TWO_LIBRARIES = sections_xml(("1", "Movies", ["/data/movies"]), ("2", "TV Shows", ["/data/tv", "/data/more-tv"]))


def calls(recorder) -> list[tuple[str, str, dict]]:
    return [(r.method, r.path, r.query) for r in recorder.requests]


def test_finds_the_section_holding_the_folder_and_scans_only_that_folder(http_recorder, tmp_path, monkeypatch):
    http_recorder.answer(SECTIONS, (200, TWO_LIBRARIES))
    logs = finish(
        {"url": http_recorder.url, "path_map": [f"{tmp_path}/tv=/data/more-tv"]}, monkeypatch, make_job(tmp_path)
    )
    folder = "/data/more-tv/Show/Season 01"
    assert calls(http_recorder) == [
        ("GET", SECTIONS, {}),
        ("GET", "/library/sections/2/refresh", {"path": [folder]}),
    ]
    assert all(r.headers["x-plex-token"] == TOKEN for r in http_recorder.requests)
    (done,) = events(logs)
    assert (done["event"], done["path"], done["section"], done["status"]) == ("plex_refreshed", folder, "2", 200)
    assert TOKEN not in repr(logs)


def test_the_deepest_location_wins_and_names_must_match_whole_folders(http_recorder, tmp_path, monkeypatch):
    libraries = sections_xml(
        ("3", "Everything", ["/data"]), ("4", "Kids TV", ["/data/tv/kids"]), ("5", "TV", ["/data/tv"])
    )
    http_recorder.answer(SECTIONS, (200, libraries))
    jobs = [make_job(tmp_path, "kids"), make_job(tmp_path, "kidsclub")]
    finish({"url": http_recorder.url, "path_map": [f"{tmp_path}=/data"]}, monkeypatch, *jobs)
    refreshes = [(r.path, r.query["path"][0]) for r in http_recorder.requests if r.path != SECTIONS]
    assert refreshes == [
        ("/library/sections/4/refresh", "/data/tv/kids/Season 01"),
        ("/library/sections/5/refresh", "/data/tv/kidsclub/Season 01"),
    ]


def test_the_section_list_is_kept_and_fetched_again_when_a_folder_is_in_none(http_recorder, tmp_path, monkeypatch):
    with_anime = sections_xml(
        ("1", "Movies", ["/data/movies"]), ("2", "TV", ["/data/tv"]), ("6", "Anime", ["/data/anime"])
    )
    http_recorder.answer(SECTIONS, (200, TWO_LIBRARIES), (200, with_anime))
    raw = {"url": http_recorder.url, "path_map": [f"{tmp_path}=/data"]}
    jobs = make_job(tmp_path, "A"), make_job(tmp_path, "B"), make_job(tmp_path / "anime", "C")
    finish(raw, monkeypatch, *jobs)
    assert [r.path for r in http_recorder.requests] == [
        SECTIONS,
        "/library/sections/2/refresh",  # A
        "/library/sections/2/refresh",  # B: from the kept list
        SECTIONS,  # C is in no section kept: a library added since?
        "/library/sections/6/refresh",
    ]


def test_no_matching_section_is_a_warning_with_the_fix(http_recorder, tmp_path, monkeypatch):
    http_recorder.answer(SECTIONS, (200, TWO_LIBRARIES))
    logs = finish({"url": http_recorder.url}, monkeypatch, make_job(tmp_path))
    assert [r.path for r in http_recorder.requests] == [SECTIONS]  # just fetched: no second fetch
    (failed,) = events(logs)
    assert failed["event"] == "plex_refresh_failed"
    assert str(tmp_path / "tv" / "Show" / "Season 01") in failed["error"]
    assert "/data/more-tv" in failed["error"]
    assert "path_map" in failed["hint"]


def test_a_pinned_section_skips_the_lookup(http_recorder, tmp_path, monkeypatch):
    job, result = make_job(tmp_path)
    logs = finish({"url": http_recorder.url + "/", "section": 7}, monkeypatch, (job, result))
    assert [(e["event"], e["section"]) for e in events(logs)] == [("plex_refreshed", "7")]
    assert calls(http_recorder) == [("GET", "/library/sections/7/refresh", {"path": [str(job.path.parent)]})]


def test_windows_servers_get_windows_paths(http_recorder, tmp_path, monkeypatch):
    http_recorder.answer(SECTIONS, (200, sections_xml(("2", "TV", ["D:\\Media\\TV"]))))
    finish({"url": http_recorder.url, "path_map": {f"{tmp_path}/tv": "d:\\media\\tv"}}, monkeypatch, make_job(tmp_path))
    refresh = http_recorder.requests[-1]
    assert (refresh.path, refresh.query) == (
        "/library/sections/2/refresh",
        {"path": ["d:\\media\\tv\\Show\\Season 01"]},
    )


def test_a_folder_already_waiting_for_a_scan_is_not_asked_twice(http_recorder, tmp_path, monkeypatch):
    http_recorder.delay = 0.3  # the first scan is in flight while the next jobs finish
    one, two, three = make_job(tmp_path, "A"), make_job(tmp_path, "B"), make_job(tmp_path, "B")
    finish({"url": http_recorder.url, "section": 2}, monkeypatch, one, two, three)
    folders = [Path(r.query["path"][0]).parent.name for r in http_recorder.requests]
    assert folders == ["A", "B"]
    finish({"url": http_recorder.url, "section": 2}, monkeypatch, two)
    assert len(http_recorder.requests) == 3  # once scanned, a later job asks again


def test_a_refused_token_is_logged_with_the_variable_to_check(http_recorder, tmp_path, monkeypatch):
    http_recorder.answer(SECTIONS, (401, b"<html><head><title>Unauthorized</title></head></html>"))
    logs = finish({"url": http_recorder.url}, monkeypatch, make_job(tmp_path))
    assert [r.path for r in http_recorder.requests] == [SECTIONS]
    (failed,) = events(logs)
    assert (failed["event"], failed["status"]) == ("plex_refresh_failed", 401)
    assert "INGEST_PLEX_TOKEN" in failed["hint"]
    assert TOKEN not in repr(logs)


def test_an_answer_that_is_not_xml_is_a_warning(http_recorder, tmp_path, monkeypatch):
    http_recorder.answer(SECTIONS, (200, {"MediaContainer": {}}))
    logs = finish({"url": http_recorder.url}, monkeypatch, make_job(tmp_path))
    (failed,) = events(logs)
    assert "not XML" in failed["error"]


def test_only_done_jobs_are_scanned(http_recorder, tmp_path, monkeypatch):
    finish({"url": http_recorder.url, "section": 1}, monkeypatch, make_job(tmp_path, status="failed"))
    assert http_recorder.requests == []


def test_path_map_from_an_environment_variable(http_recorder, tmp_path, monkeypatch):
    monkeypatch.setenv("INGEST_PLUGINS__PLEX__URL", http_recorder.url)
    monkeypatch.setenv("INGEST_PLUGINS__PLEX__SECTION", "2")
    monkeypatch.setenv("INGEST_PLUGINS__PLEX__PATH_MAP", f"/elsewhere=/x, {tmp_path}=/data")
    monkeypatch.setenv("INGEST_PLEX_TOKEN", TOKEN)
    conf = settings.load()
    host = KIT.host(conf.plugins["plex"])
    with host.serving(conf, "run"):
        pipeline.finish(host, *make_job(tmp_path))
    assert http_recorder.requests[0].query == {"path": ["/data/tv/Show/Season 01"]}


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"path_map": "[1, 2]"}, "path_map"),
        ({"section": 0}, "section"),
    ],
)
def test_bad_plex_settings_stop_the_program_naming_the_key(raw, key):
    with pytest.raises(ConfigError, match=rf"plugins\.plex\.{key}"):
        KIT.host(raw)


def test_a_real_job_scans_its_folder(shared_media, tmp_path, http_recorder, monkeypatch):
    """The whole pipeline (ffmpeg, faster-whisper tiny.en, the SRT writer), then the scan."""
    folder = tmp_path / "podcasts" / "JFK"
    folder.mkdir(parents=True)
    media = Path(shutil.copy(shared_media / "jfk.flac", folder / "jfk.flac"))
    http_recorder.answer(
        SECTIONS, (200, sections_xml(("1", "Movies", ["/data/movies"]), ("9", "Talks", ["/data/podcasts"])))
    )
    monkeypatch.setenv("INGEST_PLEX_TOKEN", TOKEN)
    raw = {"url": http_recorder.url, "path_map": [f"{tmp_path}=/data"]}
    conf = settings.load(transcribe={"model": "tiny.en"}, plugins={"plex": raw})
    host = KIT.host(conf.plugins["plex"], faster_whisper, srt)
    with capture_logs() as logs, host.serving(conf, "process"):
        result = pipeline.run(Job(media, options.job_options(conf, media)), conf, host)
    assert result.status == "done", result.error
    assert [p.name for p in result.outputs] == ["jfk.en.srt"]
    assert calls(http_recorder)[-1] == ("GET", "/library/sections/9/refresh", {"path": ["/data/podcasts/JFK"]})
    assert [e["event"] for e in events(logs)] == ["plex_refreshed"]
