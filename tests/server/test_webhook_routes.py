"""Webhooks through the real service: each announced file becomes the ledger observation its
watched folder makes, once, whatever sends it and however often. Real uvicorn and daemon,
real media in a watched library (its settle time long, so only a webhook queues what is put
in it), the Sonarr, Radarr, Jellyfin and Plex payloads as they send them, and a recording
server answering the Jellyfin and Plex lookups."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from structlog.testing import capture_logs

from tests.support import httprecorder
from tests.support import mediafactory as mf
from tests.support.httpservice import Running, running

PAYLOADS = Path(__file__).parent / "payloads"
EPISODE = "The Expanse - S01E02 - The Big Empty WEBDL-1080p.mkv"
MOVIE = "Arrival (2016) Bluray-1080p.mkv"
JELLYFIN_ID = "6b6c8a4e-0f2a-4a2c-9d1e-3f5a7b9c0d12"
JELLYFIN_USER = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
TOKEN = "jf-0123456789abcdef0123456789abcdef"
KEY = "webhook-key-of-the-house-7d2a9c"
LONG_AGO = 2 * 86400  # seconds: an import (a move or hardlink) keeps the file's old mtime


def doc(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / name).read_bytes())


@pytest.fixture(scope="module")
def clip(shared_media: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two seconds of speech in Matroska: real media, a short job."""
    path = tmp_path_factory.mktemp("clip") / "clip.mkv"
    mf.ffmpeg("-i", shared_media / "jfk.flac", "-t", "2", "-c:a", "flac", path)
    return path


@pytest.fixture
def recorder() -> Iterator[httprecorder.Recorder]:
    with httprecorder.serving() as recorder:
        yield recorder


@pytest.fixture
def library(tmp_path: Path) -> Path:
    return (tmp_path / "media").resolve()


FOLDERS = ("tv/The Expanse/Season 01", "tv/Jellyfin Show", "tv/Show", "movies/Arrival (2016)")


def watching(library: Path, **server: Any) -> dict[str, Any]:
    """The library watched, its folders made first: folders made in a burst under a live
    inotify watch make watchdog warn from its own thread (a callback registered twice)."""
    for folder in FOLDERS:
        (library / folder).mkdir(parents=True, exist_ok=True)
    return {"watches": [{"path": str(library), "settle_seconds": 600}], "server": server}


@pytest.fixture
def service(library: Path, recorder: httprecorder.Recorder, tmp_path: Path, monkeypatch) -> Iterator[Running]:
    """The service, each sender's paths mapped to the library, Jellyfin and Plex asked at the recorder."""
    maps = {
        "sonarr": [[f"{library}/tv", "/tv"]],
        "jellyfin": [[str(library), "/media"]],
        "plex": [[f"{library}/movies", "D:\\Media\\Movies"]],
    }
    lookups = {name: {"url": recorder.url, "timeout": 5, "retries": 0} for name in ("jellyfin", "plex")}
    monkeypatch.setenv("INGEST_JELLYFIN_API_KEY", TOKEN)
    monkeypatch.setenv("INGEST_PLEX_TOKEN", TOKEN)
    extra = watching(library, path_maps=maps, jellyfin_user=JELLYFIN_USER)
    # Their plugins (which tell the servers of new subtitles) stay off; their settings serve the lookups.
    off = ["jellyfin", "plex"]
    with running(tmp_path / "state", plugins=lookups, disabled_plugins=off, **extra) as up:
        yield up


def arrived(clip: Path, path: Path, settled: bool = True) -> Path:
    """``clip`` at ``path``, as an import leaves it: its mtime long past (or just now, still arriving)."""
    shutil.copyfile(clip, path)
    if settled:
        past = time.time() - LONG_AGO
        os.utime(path, (past, past))
    return path


def sonarr(episode_path: str) -> dict[str, Any]:
    """Sonarr's Download payload naming ``episode_path`` as Sonarr sees it."""
    payload = doc("sonarr_download.json")
    payload["episodeFile"]["path"] = episode_path
    return payload


def rows_for(service: Running, path: Path) -> list[Any]:
    return [row for row in service.rows() if row["path"] == str(path)]


def post(service: Running, route: str, **kwargs: Any) -> requests.Response:
    return requests.post(service.url + route, timeout=30, **kwargs)


def test_sonarr_download_queues_the_file_once(service: Running, clip: Path, library: Path):
    path = arrived(clip, library / "tv/The Expanse/Season 01" / EPISODE)
    first = post(service, "/webhooks/sonarr", json=doc("sonarr_download.json"))
    assert first.status_code == 202, first.text
    assert (first.json()["queued"], first.json()["already"]) == ([str(path)], [])
    (row,) = rows_for(service, path)
    assert row["state"] in ("pending", "running", "done")
    again = post(service, "/webhooks/sonarr", json=doc("sonarr_download.json"))
    assert again.status_code == 202
    assert (again.json()["queued"], again.json()["already"]) == ([], [str(path)])
    assert len(rows_for(service, path)) == 1


def test_radarr_test_event_is_a_200_and_no_job(service: Running):
    before = len(service.rows())
    answer = post(service, "/webhooks/radarr", json=doc("radarr_test.json"))
    assert (answer.status_code, answer.json()["test"]) == (200, True)
    assert len(service.rows()) == before


def test_jellyfin_item_added_as_text_plain_queues_the_looked_up_path(service, recorder, clip, library):
    path = arrived(clip, library / "tv/Jellyfin Show/S01E01.mkv")
    recorder.answer(
        f"/Users/{JELLYFIN_USER}/Items/{JELLYFIN_ID}", (200, {"Path": "/media/tv/Jellyfin Show/S01E01.mkv"})
    )
    answer = post(
        service,
        "/webhooks",  # the sender sniffed from the User-Agent, as the plugin's default template posts it
        data=(PAYLOADS / "jellyfin_item_added.json").read_bytes(),
        headers={"Content-Type": "text/plain; charset=utf-8", "User-Agent": "Jellyfin-Server/10.10.3"},
    )
    assert answer.status_code == 202, answer.text
    assert (answer.json()["sender"], answer.json()["queued"]) == ("jellyfin", [str(path)])
    asked = [r for r in recorder.requests if r.path.endswith(JELLYFIN_ID)]
    assert asked[-1].headers["authorization"] == f'MediaBrowser Token="{TOKEN}"'
    assert rows_for(service, path)


def test_plex_multipart_payload_queues_the_looked_up_path(service, recorder, clip, library):
    path = arrived(clip, library / "movies/Arrival (2016)" / MOVIE)
    recorder.answer("/library/metadata/48213", (200, doc("plex_metadata.json")))
    files = {
        "payload": (None, (PAYLOADS / "plex_library_new.json").read_text(), "application/json"),
        "thumb": ("thumb.jpg", b"\xff\xd8\xff\xe0 not really a jpeg", "image/jpeg"),
    }
    answer = post(service, "/webhooks/plex", files=files, headers={"User-Agent": "PlexMediaServer/1.40.1"})
    assert answer.status_code == 202, answer.text
    assert answer.json()["queued"] == [str(path)]
    assert rows_for(service, path)


@pytest.mark.parametrize(
    ("theirs", "status", "cause"),
    [("/srv/elsewhere/x.mkv", 422, "not inside a library"), ("/tv/../../../etc/x.mkv", 403, "'..'")],
)
def test_a_path_outside_the_library_is_refused_and_makes_no_row(service, theirs, status, cause):
    before = len(service.rows())
    answer = post(service, "/webhooks/sonarr", json=sonarr(theirs))
    assert answer.status_code == status
    assert cause in answer.json()["detail"] and "sonarr webhook" in answer.json()["detail"]
    assert len(service.rows()) == before


def test_a_file_that_is_not_there_is_a_422_naming_the_path_map(service, library):
    answer = post(service, "/webhooks/sonarr", json=sonarr("/tv/Gone/S01E01.mkv"))
    assert answer.status_code == 422
    assert "no such file" in answer.json()["detail"] and "path_maps" in answer.json()["detail"]
    assert not rows_for(service, library / "tv/Gone/S01E01.mkv")


def test_a_file_the_watch_leaves_out_is_ignored_with_the_reason(service, clip, library):
    path = arrived(clip, library / "tv/Show/show-sample.mkv")  # the default ignore globs take *sample*
    answer = post(service, "/webhooks/sonarr", json=sonarr("/tv/Show/show-sample.mkv"))
    assert answer.status_code == 200
    assert "ignore patterns" in answer.json()["ignored"]
    assert answer.json()["skipped"] == {str(path): answer.json()["skipped"][str(path)]}
    assert not rows_for(service, path)


def test_a_file_still_arriving_is_left_to_the_watch_settling(service, clip, library):
    path = arrived(clip, library / "tv/Show/S01E09.mkv", settled=False)
    answer = post(service, "/webhooks/sonarr", json=sonarr("/tv/Show/S01E09.mkv"))
    assert answer.status_code == 202
    assert (answer.json()["settling"], answer.json()["queued"]) == ([str(path)], [])
    assert not rows_for(service, path)  # the watch's settler observes it once it stands still


def test_an_unknown_sender_is_a_404_naming_the_senders(service):
    answer = post(service, "/webhooks/sickbeard", json={"eventType": "Download"})
    assert answer.status_code == 404
    assert "sonarr" in answer.json()["detail"]


def test_a_server_others_reach_needs_the_key_in_a_header_or_the_path(tmp_path, clip, caplog):
    library = (tmp_path / "media").resolve()
    extra = watching(library, listen="0.0.0.0:0", api_keys=[KEY], path_maps={"sonarr": [[f"{library}/tv", "/tv"]]})
    path = arrived(clip, library / "tv/The Expanse/Season 01" / EPISODE)
    with running(tmp_path / "state", **extra) as up:
        url = up.url.replace("0.0.0.0", "127.0.0.1")
        with capture_logs() as logs, caplog.at_level(logging.INFO):
            refused = requests.post(f"{url}/webhooks/sonarr", json=doc("sonarr_download.json"), timeout=30)
            accepted = requests.post(f"{url}/k/{KEY}/webhooks/sonarr", json=doc("sonarr_download.json"), timeout=30)
        rows = up.rows()
    assert any(event["event"] == "webhook_observed" for event in logs)
    assert "POST /webhooks/sonarr" in caplog.text  # the access log's line for the keyed request too
    assert KEY not in repr(logs) and KEY not in caplog.text  # neither ingest's lines nor uvicorn's access log
    assert refused.status_code == 401
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["queued"] == [str(path)]
    assert [row["path"] for row in rows] == [str(path)]
