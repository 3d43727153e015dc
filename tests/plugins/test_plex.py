"""The Plex plugin speaking real HTTP to a loopback server.

Plex Media Server cannot run here, so ``http_recorder`` stands in for it: a real HTTP
server scripted with the answers Plex gives to the two endpoints the plugin uses
(``/library/sections`` as Plex's XML, an empty ``200`` for a refresh), recording what
arrived for the tests to compare with Plex's API.
"""

from __future__ import annotations

import shutil
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from ingest_plugins import faster_whisper, plex, srt
from structlog.testing import capture_logs

from ingest import pipeline, plugins, settings
from ingest.errors import ConfigError
from ingest.models import Job, JobOptions, JobResult

TOKEN = "pLeXt0kEn-abc123"
SECTIONS = "/library/sections"


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


def make_job(root: Path, show: str = "Show", status: str = "done") -> tuple[Job, JobResult]:
    """A finished job whose media and subtitle really exist under ``root/tv``."""
    folder = root / "tv" / show / "Season 01"
    folder.mkdir(parents=True, exist_ok=True)
    media = folder / f"{show} S01E02.mkv"
    media.write_bytes(b"\x1a\x45\xdf\xa3")
    subtitle = folder / f"{show} S01E02.en.srt"
    subtitle.write_text("1\n00:00:00,000 --> 00:00:01,000\nHello.\n", encoding="utf-8")
    return Job(media, JobOptions()), JobResult(media, status, outputs=(subtitle,))


def host_for(raw: dict, *modules) -> plugins.Host:
    host = plugins.Host()
    for module in (*modules, plex):
        host.register(module, module.__name__.rsplit(".", 1)[1])
    plugins.validate_settings(host, {"plex": raw})
    return host


@contextmanager
def serving(raw: dict, monkeypatch, token: str | None = TOKEN):
    """A host with the plugin started as the daemon starts it; shut down on leaving."""
    if token is not None:
        monkeypatch.setenv("INGEST_PLEX_TOKEN", token)
    host = host_for(raw)
    with host.serving(settings.load(), "run"):
        yield host


def finish(raw: dict, monkeypatch, *jobs: tuple[Job, JobResult]) -> list[dict]:
    """Each job through ``pipeline.finish``, then shutdown (which waits for the deliveries)."""
    with capture_logs() as logs, serving(raw, monkeypatch) as host:
        for job, result in jobs:
            pipeline.finish(host, job, result)
    return logs


def events(logs: list[dict]) -> list[dict]:
    return [e for e in logs if e["event"] in ("plex_refreshed", "plex_refresh_failed")]


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


def test_a_503_is_retried_and_the_retry_succeeds(http_recorder, tmp_path, monkeypatch):
    http_recorder.answer("/library/sections/2/refresh", (503, b""), (200, b""))
    logs = finish({"url": http_recorder.url, "section": 2, "retries": 1}, monkeypatch, make_job(tmp_path))
    assert [r.path for r in http_recorder.requests] == ["/library/sections/2/refresh"] * 2
    assert [(e["event"], e["status"]) for e in events(logs)] == [("plex_refreshed", 200)]


def test_a_silent_server_times_out_without_holding_the_job(http_recorder, tmp_path, monkeypatch):
    http_recorder.delay = 2.0
    job, result = make_job(tmp_path)
    with capture_logs() as logs, serving({"url": http_recorder.url, "timeout": 0.3, "retries": 0}, monkeypatch) as host:
        start = time.monotonic()
        pipeline.finish(host, job, result)
        assert time.monotonic() - start < 0.2  # the worker is free at once; the courier waits
        closing = time.monotonic()
    assert time.monotonic() - closing < 1.0
    (failed,) = events(logs)
    assert (failed["event"], failed["error"]) == ("plex_refresh_failed", "no answer within 0.3 s")
    assert not [e for e in logs if e["event"] == "plugin_hook_failed"]


def test_an_answer_that_is_not_xml_is_a_warning(http_recorder, tmp_path, monkeypatch):
    http_recorder.answer(SECTIONS, (200, {"MediaContainer": {}}))
    logs = finish({"url": http_recorder.url}, monkeypatch, make_job(tmp_path))
    (failed,) = events(logs)
    assert "not XML" in failed["error"]


def test_without_url_nothing_is_sent_and_no_thread_starts(http_recorder, tmp_path, monkeypatch):
    with serving({}, monkeypatch, token=None) as host:
        assert not [t for t in threading.enumerate() if t.name == "ingest-plex"]
        pipeline.finish(host, *make_job(tmp_path))
    assert http_recorder.requests == []


def test_only_done_jobs_are_scanned(http_recorder, tmp_path, monkeypatch):
    finish({"url": http_recorder.url, "section": 1}, monkeypatch, make_job(tmp_path, status="failed"))
    assert http_recorder.requests == []


def test_a_url_without_the_token_stops_startup_naming_the_variable(http_recorder):
    host = host_for({"url": http_recorder.url})
    with pytest.raises(ConfigError, match="INGEST_PLEX_TOKEN"), host.serving(settings.load(), "run"):
        pass


def test_a_token_in_the_config_file_is_refused_without_echoing_it(http_recorder):
    host = host_for({"url": http_recorder.url, "token": TOKEN})
    with pytest.raises(ConfigError, match="INGEST_PLEX_TOKEN") as caught, host.serving(settings.load(), "run"):
        pass
    assert TOKEN not in str(caught.value)


def test_path_map_from_an_environment_variable(http_recorder, tmp_path, monkeypatch):
    monkeypatch.setenv("INGEST_PLUGINS__PLEX__URL", http_recorder.url)
    monkeypatch.setenv("INGEST_PLUGINS__PLEX__SECTION", "2")
    monkeypatch.setenv("INGEST_PLUGINS__PLEX__PATH_MAP", f"/elsewhere=/x, {tmp_path}=/data")
    monkeypatch.setenv("INGEST_PLEX_TOKEN", TOKEN)
    conf = settings.load()
    host = host_for(conf.plugins["plex"])
    with host.serving(conf, "run"):
        pipeline.finish(host, *make_job(tmp_path))
    assert http_recorder.requests[0].query == {"path": ["/data/tv/Show/Season 01"]}


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"url": "plex.lan:32400"}, "url"),
        ({"path_map": "[1, 2]"}, "path_map"),
        ({"path_map": {"/data": ""}}, "path_map"),
        ({"section": 0}, "section"),
        ({"retries": -1}, "retries"),
        ({"tokn": "x"}, "tokn"),
    ],
)
def test_bad_settings_stop_the_program_naming_the_key(raw, key):
    with pytest.raises(ConfigError, match=rf"plugins\.plex\.{key}"):
        host_for(raw)


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
    host = host_for(conf.plugins["plex"], faster_whisper, srt)
    with capture_logs() as logs, host.serving(conf, "process"):
        result = pipeline.run(Job(media, settings.job_options(conf, media)), conf, host)
    assert result.status == "done", result.error
    assert [p.name for p in result.outputs] == ["jfk.en.srt"]
    assert calls(http_recorder)[-1] == ("GET", "/library/sections/9/refresh", {"path": ["/data/podcasts/JFK"]})
    assert [e["event"] for e in events(logs)] == ["plex_refreshed"]
