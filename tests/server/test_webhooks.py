"""Webhooks in: each sender's payloads turned into files inside a library, with Jellyfin's and
Plex's APIs stood in for by a real recording HTTP server on loopback (``http_recorder``).

The payloads (tests/server/payloads/) follow each project's own definitions, values made up:
Sonarr's and Radarr's webhook payload classes (``WebhookImportPayload``, the import-complete
``WebhookImportCompletePayload``, ``WebhookRenamePayload``, ``BuildTestPayload``), the
Jellyfin webhook plugin's data object (what a template's ``{{ItemId}}`` and friends render),
Plex's webhook and ``/library/metadata`` answers, Emby's ``library.new`` and test events, and a
Tautulli template of ``event`` and ``file``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from structlog.testing import capture_logs

from ingest import settings
from ingest.errors import ConfigError
from ingest.notify.pathmap import PathMap
from ingest.server import webhooks
from ingest.server.webhooks import Announcement, Incoming, Lookup, Sources, WebhookError, announce
from ingest.server.webhooks.libraries import OutsideLibrary, inside_library, to_ingest
from tests.support.asgiserve import serving
from tests.support.serverkit import socket_closed

PAYLOADS = Path(__file__).parent / "payloads"
TOKEN = "jf-0123456789abcdef0123456789abcdef"
EPISODE = "The Expanse - S01E02 - The Big Empty WEBDL-1080p.mkv"
MOVIE = "Arrival (2016) Bluray-1080p.mkv"
JELLYFIN_ID = "6b6c8a4e-0f2a-4a2c-9d1e-3f5a7b9c0d12"


def body(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


def doc(name: str) -> dict:
    return json.loads(body(name))


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """A media library as ingest sees it, holding the files the payloads name."""
    root = tmp_path / "media"
    season = root / "tv" / "The Expanse" / "Season 01"
    season.mkdir(parents=True)
    for name in (EPISODE, "The Expanse - S01E03 - Remember the Cant WEBDL-1080p.mkv"):
        (season / name).write_bytes(b"\x1a\x45\xdf\xa3")
    (root / "movies" / "Arrival (2016)").mkdir(parents=True)
    (root / "movies" / "Arrival (2016)" / MOVIE).write_bytes(b"\x1a\x45\xdf\xa3")
    return root.resolve()


def where(library: Path, **lookups: Lookup) -> Sources:
    """Each sender's map from its own view (as the payloads name files) to the library."""
    maps = {
        "sonarr": [(f"{library}/tv", "/tv")],
        "radarr": [(f"{library}/movies", "/movies")],
        "jellyfin": [(str(library), "/media")],
        "plex": [(f"{library}/movies", "D:\\Media\\Movies"), (str(library), "/data")],
        "emby": [(str(library), "/mnt/media")],
    }
    paths = {sender: PathMap.of(pairs) for sender, pairs in maps.items()}
    return Sources((library,), {**paths, "tautulli": paths["plex"]}, lookups)


def json_post(name: str, sender: str | None, content_type: str = "application/json", agent: str = "") -> Incoming:
    return Incoming(body(name), content_type, agent, sender)


def multipart(field: str, name: str, sender: str | None = "plex", thumb: bool = True, agent: str = "") -> Incoming:
    """A multipart body as Plex (``payload`` and a ``thumb`` JPEG) or Emby (``data``) sends it."""
    files: dict = {field: (None, body(name).decode(), "application/json")}
    if thumb:
        files["thumb"] = ("thumb.jpg", b"\xff\xd8\xff\xe0 not really a jpeg", "image/jpeg")
    prepared = requests.Request("POST", "http://ingest.lan/webhooks", files=files).prepare()
    assert isinstance(prepared.body, bytes)
    return Incoming(prepared.body, prepared.headers["Content-Type"], agent, sender)


def lookup(recorder, **options) -> Lookup:
    return Lookup(recorder.url, SecretStr(TOKEN), **{"timeout": 5.0, "retries": 0, **options})


# Sonarr and Radarr


def test_sonarr_download_announces_the_imported_file_not_its_source(library):
    found = announce(json_post("sonarr_download.json", "sonarr", agent="Sonarr/4.0.9.2244"), where(library))
    assert found == Announcement("sonarr", "Download", (library / "tv/The Expanse/Season 01" / EPISODE,))


def test_sonarr_import_complete_announces_every_file(library):
    found = announce(json_post("sonarr_import_complete.json", "sonarr"), where(library))
    season = library / "tv/The Expanse/Season 01"
    assert found.paths == (
        season / "The Expanse - S01E03 - Remember the Cant WEBDL-1080p.mkv",
        season / "The Expanse - S01E04 - CQB WEBDL-1080p.mkv",  # not there yet: the ledger settles it
    )


def test_sonarr_rename_announces_the_new_name(library):
    found = announce(json_post("sonarr_rename.json", "sonarr"), where(library))
    assert found.event == "Rename"
    assert [p.name for p in found.paths] == ["The Expanse (2015) - S01E02 - The Big Empty [WEBDL-1080p].mkv"]


def test_radarr_upgrade_announces_the_new_file_not_the_deleted_one(library):
    found = announce(json_post("radarr_download.json", "radarr"), where(library))
    assert found.paths == (library / "movies/Arrival (2016)" / MOVIE,)


def test_a_file_without_path_is_found_from_its_folder_and_relative_path(library):
    payload = doc("radarr_download.json")
    del payload["movieFile"]["path"]
    found = announce(Incoming(json.dumps(payload).encode(), "application/json", "", "radarr"), where(library))
    assert found.paths == (library / "movies/Arrival (2016)" / MOVIE,)


@pytest.mark.parametrize(("name", "sender"), [("sonarr_test.json", "sonarr"), ("radarr_test.json", "radarr")])
def test_test_events_name_no_file_and_pass(library, name, sender):
    found = announce(json_post(name, sender), Sources())  # no library needed: a Test touches no path
    assert found == Announcement(sender, "Test", test=True)


def test_other_arr_events_are_ignored_with_a_reason(library):
    found = announce(json_post("sonarr_grab.json", "sonarr"), where(library))
    assert (found.paths, found.test, found.ignored_reason) == ((), False, "Grab names no new file")


# Jellyfin


def test_jellyfin_item_added_is_looked_up_with_the_key_in_a_header(http_recorder, library):
    http_recorder.answer(f"/Items/{JELLYFIN_ID}", (200, doc("jellyfin_item.json")))
    incoming = json_post("jellyfin_item_added.json", "jellyfin", "text/plain; charset=utf-8", "Jellyfin-Server/10.10.3")
    with capture_logs() as logs:
        found = announce(incoming, where(library, jellyfin=lookup(http_recorder)))
    assert found == Announcement("jellyfin", "ItemAdded", (library / "tv/The Expanse/Season 01" / EPISODE,))
    (request,) = http_recorder.requests
    assert (request.method, request.path, request.query) == ("GET", f"/Items/{JELLYFIN_ID}", {})
    assert request.headers["authorization"] == f'MediaBrowser Token="{TOKEN}"'
    assert TOKEN not in repr(logs)


def test_jellyfin_with_a_user_and_a_base_path_asks_the_users_items(http_recorder, library):
    http_recorder.answer(f"/jellyfin/Users/5e1f/Items/{JELLYFIN_ID}", (200, doc("jellyfin_item.json")))
    jellyfin = Lookup(http_recorder.url + "/jellyfin", SecretStr(TOKEN), 5.0, 0, user="5e1f")
    found = announce(json_post("jellyfin_item_added.json", "jellyfin", "text/plain"), where(library, jellyfin=jellyfin))
    assert len(found.paths) == 1
    assert [r.path for r in http_recorder.requests] == [f"/jellyfin/Users/5e1f/Items/{JELLYFIN_ID}"]


def test_jellyfin_template_with_the_path_needs_no_lookup(http_recorder, library):
    payload = {**doc("jellyfin_item_added.json"), "Path": "/media/movies/Arrival (2016)/" + MOVIE}
    incoming = Incoming(json.dumps(payload).encode(), "text/plain", "Jellyfin-Server/10.10.3", "jellyfin")
    assert announce(incoming, where(library, jellyfin=lookup(http_recorder))).paths == (
        library / "movies/Arrival (2016)" / MOVIE,
    )
    assert http_recorder.requests == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"ItemType": "Season"}, "a Season is not a media file"),
        ({"ItemType": "Series"}, "a Series is not a media file"),
        ({"NotificationType": "PlaybackStart"}, "PlaybackStart names no new file"),
    ],
)
def test_jellyfin_containers_and_other_notifications_are_ignored(http_recorder, library, change, reason):
    incoming = Incoming(
        json.dumps({**doc("jellyfin_item_added.json"), **change}).encode(), "text/plain", "", "jellyfin"
    )
    assert announce(incoming, where(library, jellyfin=lookup(http_recorder))).ignored_reason == reason
    assert http_recorder.requests == []


def test_an_item_id_that_is_not_an_id_never_reaches_a_url(http_recorder, library):
    payload = {**doc("jellyfin_item_added.json"), "ItemId": "../System/Info"}
    with pytest.raises(WebhookError, match="valid ItemId") as refused:
        announce(Incoming(json.dumps(payload).encode(), "text/plain", "", "jellyfin"), where(library))
    assert refused.value.status == 400
    assert http_recorder.requests == []


def test_an_item_without_a_file_is_ignored(http_recorder, library):
    http_recorder.answer(
        f"/Items/{JELLYFIN_ID}", (200, {"Id": JELLYFIN_ID, "Type": "Episode", "LocationType": "Virtual"})
    )
    found = announce(json_post("jellyfin_item_added.json", "jellyfin"), where(library, jellyfin=lookup(http_recorder)))
    assert found.ignored_reason == f"jellyfin item {JELLYFIN_ID} has no file"


# Plex


def test_plex_library_new_is_looked_up_and_a_windows_path_mapped(http_recorder, library):
    http_recorder.answer("/library/metadata/48213", (200, doc("plex_metadata.json")))
    incoming = multipart("payload", "plex_library_new.json", agent="PlexMediaServer/1.40.1.8227-c0dd5a73e")
    with capture_logs() as logs:
        found = announce(incoming, where(library, plex=lookup(http_recorder)))
    assert found == Announcement("plex", "library.new", (library / "movies/Arrival (2016)" / MOVIE,))
    (request,) = http_recorder.requests
    assert (request.method, request.path) == ("GET", "/library/metadata/48213")
    assert request.headers["x-plex-token"] == TOKEN
    assert request.headers["accept"] == "application/json"
    assert TOKEN not in request.path and not request.query
    assert TOKEN not in repr(logs)


def test_plex_answering_xml_gives_every_versions_file(http_recorder, library):
    (library / "movies/Arrival (2016)/Arrival (2016) Remux-2160p.mkv").write_bytes(b"\x1a\x45\xdf\xa3")
    http_recorder.answer("/library/metadata/48213", (200, body("plex_metadata.xml")))
    found = announce(
        multipart("payload", "plex_library_new.json", thumb=False), where(library, plex=lookup(http_recorder))
    )
    assert [p.name for p in found.paths] == [MOVIE, "Arrival (2016) Remux-2160p.mkv"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"event": "media.play"}, "media.play names no new file"),
        ({"Metadata": {"type": "show"}}, "a show is not a media file"),
    ],
)
def test_plex_other_events_and_shows_are_ignored(http_recorder, library, change, reason):
    payload = {**doc("plex_library_new.json"), **change}
    files = {"payload": (None, json.dumps(payload), "application/json")}
    prepared = requests.Request("POST", "http://ingest.lan/", files=files).prepare()
    assert isinstance(prepared.body, bytes)
    incoming = Incoming(prepared.body, prepared.headers["Content-Type"], "", "plex")
    assert announce(incoming, where(library, plex=lookup(http_recorder))).ignored_reason == reason
    assert http_recorder.requests == []


# Emby and Tautulli


def test_emby_multipart_data_names_the_path(library):
    found = announce(multipart("data", "emby_library_new.json", "emby", thumb=False), where(library))
    assert found == Announcement("emby", "library.new", (library / "tv/The Expanse/Season 01" / EPISODE,))


def test_emby_as_a_form_or_as_json_and_its_test(library):
    form = Incoming(
        b"data=" + requests.utils.quote(body("emby_library_new.json")).encode(), "application/x-www-form-urlencoded"
    )
    assert announce(Incoming(form.body, form.content_type, "", "emby"), where(library)).paths
    assert announce(json_post("emby_library_new.json", "emby"), where(library)).paths
    test = announce(multipart("data", "emby_test.json", "emby", thumb=False), Sources())
    assert (test.event, test.test) == ("system.notificationtest", True)


def test_tautulli_names_plexs_path_and_uses_plexs_map(library):
    found = announce(json_post("tautulli_added.json", "tautulli"), where(library))
    assert found == Announcement("tautulli", "added", (library / "tv/The Expanse/Season 01" / EPISODE,))
    test = announce(Incoming(b'{"event": "test"}', "application/json", "", "tautulli"), Sources())
    assert test.test
    show = announce(Incoming(b'{"event": "added", "file": ""}', "application/json", "", "tautulli"), Sources())
    assert show.ignored_reason and "no file" in show.ignored_reason


# Sniffing the sender


@pytest.mark.parametrize(
    ("incoming", "sender"),
    [
        (json_post("jellyfin_item_added.json", None, "text/plain", "Jellyfin-Server/10.10.3"), "jellyfin"),
        (json_post("sonarr_test.json", None), "sonarr"),
        (json_post("radarr_test.json", None), "radarr"),
        (json_post("tautulli_added.json", None), "tautulli"),
        (json_post("emby_library_new.json", None), "emby"),
        (multipart("payload", "plex_library_new.json", sender=None), "plex"),
        (multipart("data", "emby_test.json", sender=None, thumb=False), "emby"),
    ],
)
def test_without_a_named_route_the_sender_is_sniffed(incoming, sender):
    assert webhooks.senders.sniff(incoming) == sender


# Malformed bodies


@pytest.mark.parametrize(
    ("incoming", "status", "cause"),
    [
        (Incoming(b"<html>", "text/plain", "", "jellyfin"), 400, "not JSON"),
        (Incoming(b"[1, 2]", "application/json", "", "sonarr"), 400, "not an object"),
        (Incoming(b'{"series": {}}', "application/json", "", "sonarr"), 400, "no eventType"),
        (Incoming(b'{"eventType": "Download", "series": {}}', "application/json", "", "sonarr"), 400, "without a file"),
        (multipart("thumbnail", "plex_library_new.json"), 400, "no form field 'payload'"),
        (Incoming(b'{"event": "library.new"}', "application/json", "", "plex"), 400, "without Metadata"),
        (
            Incoming(b'{"Event": "library.new", "Item": {"Type": "Movie"}}', "application/json", "", "emby"),
            400,
            "Item.Path",
        ),
        (Incoming(b"{}", "application/json", "", "kodi"), 404, "unknown sender"),
        (Incoming(b'{"hello": 1}', "application/json", "", None), 400, "cannot tell the sender"),
    ],
)
def test_a_malformed_body_is_an_error_naming_the_cause(incoming, status, cause):
    with pytest.raises(WebhookError, match=cause) as refused:
        announce(incoming, Sources())
    assert refused.value.status == status


# Lookups that fail


def test_a_refused_key_names_the_sender_the_item_and_the_variable(http_recorder, library):
    http_recorder.answer(f"/Items/{JELLYFIN_ID}", (401, b"Unauthorized"))
    with pytest.raises(WebhookError) as refused:
        announce(json_post("jellyfin_item_added.json", "jellyfin"), where(library, jellyfin=lookup(http_recorder)))
    assert refused.value.status == 502
    message = str(refused.value)
    assert message.startswith("jellyfin webhook: item " + JELLYFIN_ID)
    assert "HTTP 401" in message and "INGEST_JELLYFIN_API_KEY" in message


def test_a_server_that_does_not_answer_in_time_is_a_504(http_recorder, library):
    http_recorder.delay = 0.6
    with pytest.raises(WebhookError, match=r"item 48213: no answer within 0\.2 s") as refused:
        announce(multipart("payload", "plex_library_new.json"), where(library, plex=lookup(http_recorder, timeout=0.2)))
    assert refused.value.status == 504


def test_a_server_that_is_down_is_a_502_and_a_5xx_is_retried(http_recorder, library):
    with socket_closed() as url, pytest.raises(WebhookError, match="item 48213: cannot connect") as refused:
        announce(
            multipart("payload", "plex_library_new.json"), where(library, plex=Lookup(url, SecretStr(TOKEN), 1.0, 0))
        )
    assert refused.value.status == 502
    http_recorder.answer("/library/metadata/48213", (503, b"busy"), (200, doc("plex_metadata.json")))
    found = announce(
        multipart("payload", "plex_library_new.json"), where(library, plex=lookup(http_recorder, retries=1))
    )
    assert len(found.paths) == 1
    assert len(http_recorder.requests) == 2


def test_without_a_configured_server_the_lookup_is_a_503_naming_the_settings(library):
    with pytest.raises(WebhookError, match=r"set plugins\.plex\.url and INGEST_PLEX_TOKEN") as refused:
        announce(multipart("payload", "plex_library_new.json"), where(library))
    assert refused.value.status == 503


# Paths: maps and libraries


def test_to_ingest_takes_the_longest_whole_component_prefix():
    paths = PathMap.of([("/srv/media", "/data"), ("/srv/tv", "/data/tv"), ("/srv/win", "\\\\nas\\Media")])
    assert to_ingest(paths, "/data/tv/Show/x.mkv") == Path("/srv/tv/Show/x.mkv")
    assert to_ingest(paths, "/data/tvshows/x.mkv") == Path("/srv/media/tvshows/x.mkv")
    assert to_ingest(paths, "\\\\NAS\\media\\Film\\x.mkv") == Path("/srv/win/Film/x.mkv")  # Windows: any case
    assert to_ingest(paths, "/elsewhere/x.mkv") == Path("/elsewhere/x.mkv")
    assert to_ingest(PathMap(), "/tv/x.mkv") == Path("/tv/x.mkv")


def test_a_dot_dot_path_is_refused(library):
    payload = doc("sonarr_download.json")
    payload["episodeFile"]["path"] = "/tv/The Expanse/../../../etc/passwd"
    with pytest.raises(WebhookError, match=r"'\.\.' component") as refused:
        announce(Incoming(json.dumps(payload).encode(), "application/json", "", "sonarr"), where(library))
    assert refused.value.status == 403


def test_a_symlink_out_of_the_library_is_refused_and_one_within_is_followed(library, tmp_path):
    outside = tmp_path / "private"
    outside.mkdir()
    (outside / "secret.mkv").write_bytes(b"x")
    (library / "tv" / "leak.mkv").symlink_to(outside / "secret.mkv")
    (library / "tv" / "linked").symlink_to(outside)
    (library / "tv" / "Expanse").symlink_to(library / "tv" / "The Expanse")
    for path in (library / "tv" / "leak.mkv", library / "tv" / "linked" / "secret.mkv"):
        with pytest.raises(OutsideLibrary, match="leaves the library through a symlink") as refused:
            inside_library(path, (library,))
        assert refused.value.status == 403
    inner = inside_library(library / "tv/Expanse/Season 01" / EPISODE, (library,))
    assert inner == library / "tv/The Expanse/Season 01" / EPISODE


def test_a_path_in_no_library_or_unmapped_is_a_422_naming_the_map(library):
    payload = doc("sonarr_download.json")
    payload["episodeFile"]["path"] = "D:\\TV\\The Expanse\\x.mkv"
    with pytest.raises(WebhookError, match="path map") as refused:
        announce(Incoming(json.dumps(payload).encode(), "application/json", "", "sonarr"), where(library))
    assert refused.value.status == 422
    with pytest.raises(WebhookError, match="not inside a library") as refused:
        announce(json_post("sonarr_download.json", "sonarr"), Sources((library,)))  # no map: /tv/... as it is
    assert refused.value.status == 422
    with pytest.raises(WebhookError, match=r"\[\[watches\]\]"):
        announce(json_post("sonarr_download.json", "sonarr"), Sources())


# Settings


def test_sources_reuse_the_media_server_plugins_settings_and_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("INGEST_JELLYFIN_API_KEY", TOKEN)
    monkeypatch.setenv("INGEST_PLEX_TOKEN", "plex-token-abc")
    conf = settings.load(
        watches=[{"path": str(tmp_path)}],
        plugins={
            "jellyfin": {
                "url": "http://jellyfin.lan:8096/",
                "timeout": 4,
                "refresh": "library",
                "path_map": [f"{tmp_path}=/media"],
            },
            "plex": {"url": "http://plex.lan:32400", "path_map": {str(tmp_path): "/data"}, "section": 2},
        },
    )
    found = webhooks.sources(conf, {"sonarr": [(str(tmp_path), "/tv")]}, jellyfin_user="5e1f")
    assert found.libraries == (tmp_path.resolve(),)
    jellyfin, plex = found.lookups["jellyfin"], found.lookups["plex"]
    assert (jellyfin.base, jellyfin.timeout, jellyfin.user, jellyfin.token.get_secret_value()) == (
        "http://jellyfin.lan:8096",
        4.0,
        "5e1f",
        TOKEN,
    )
    assert (plex.base, plex.retries, plex.user) == ("http://plex.lan:32400", 2, None)
    assert to_ingest(found.path_maps["jellyfin"], "/media/x.mkv") == tmp_path / "x.mkv"
    assert to_ingest(found.path_maps["tautulli"], "/data/x.mkv") == tmp_path / "x.mkv"
    assert to_ingest(found.path_maps["sonarr"], "/tv/x.mkv") == tmp_path / "x.mkv"
    assert TOKEN not in repr(found)


def test_sources_without_urls_or_secrets_have_no_lookups_and_bad_keys_stop_the_start():
    assert webhooks.sources(settings.load(plugins={"plex": {"url": "http://plex.lan:32400"}})).lookups == {}
    with pytest.raises(ConfigError, match=r"plugins\.jellyfin"):
        webhooks.sources(settings.load(plugins={"jellyfin": {"timeout": -1}}))


# Through a real server: the route's one call


def test_receive_reads_the_body_as_each_sender_posts_it(http_recorder, library):
    http_recorder.answer(f"/Items/{JELLYFIN_ID}", (200, doc("jellyfin_item.json")))
    sources = where(library, jellyfin=lookup(http_recorder))

    async def route(request: Request) -> JSONResponse:
        try:
            found = await webhooks.receive(request, sources, request.path_params.get("sender"))
        except WebhookError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=exc.status)
        return JSONResponse({"sender": found.sender, "paths": [str(p) for p in found.paths], "test": found.test})

    app = Starlette(
        routes=[Route("/webhooks/{sender}", route, methods=["POST"]), Route("/webhooks", route, methods=["POST"])]
    )
    with serving(app) as url:
        jellyfin = requests.post(
            url + "/webhooks",  # no sender in the route: the User-Agent tells
            data=body("jellyfin_item_added.json"),
            headers={"Content-Type": "text/plain; charset=utf-8", "User-Agent": "Jellyfin-Server/10.10.3"},
            timeout=10,
        )
        sonarr = requests.post(url + "/webhooks/sonarr", json=doc("sonarr_test.json"), timeout=10)
        large = requests.post(url + "/webhooks/sonarr", data=b" " * (webhooks.MAX_BODY + 1), timeout=10)
    assert jellyfin.json() == {
        "sender": "jellyfin",
        "paths": [str(library / "tv/The Expanse/Season 01" / EPISODE)],
        "test": False,
    }
    assert (sonarr.status_code, sonarr.json()["test"]) == (200, True)
    assert large.status_code == 413
