"""``[server]``: the listen address, limits, and API keys from the environment only; and the
options a request's job may carry in the ledger."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest import settings
from ingest.errors import ConfigError
from ingest.models import JobOptions
from ingest.settings import options


def test_the_server_listens_on_loopback_9000_unless_told(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    conf = settings.load()
    assert (conf.server.enabled, conf.server.host, conf.server.port) == (False, "127.0.0.1", 9000)
    config = tmp_path / "ingest.toml"
    config.write_text('[server]\nenabled = true\nlisten = "[::1]:9100"\ntrusted_networks = ["10.0.0.0/8"]\n')
    monkeypatch.setenv("INGEST_SERVER__MAX_UPLOAD_MB", "16")
    conf = settings.load(config)
    assert (conf.server.enabled, conf.server.host, conf.server.port) == (True, "::1", 9100)
    assert (conf.server.max_upload_mb, conf.server.trusted_networks) == (16, ["10.0.0.0/8"])


def test_api_keys_come_from_the_environment_comma_separated_and_never_show(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("INGEST_SERVER__API_KEYS", "first-key, second-key")
    conf = settings.load()
    assert [k.get_secret_value() for k in conf.server.api_keys] == ["first-key", "second-key"]
    assert "first-key" not in repr(conf.server)


def test_api_keys_in_the_config_file_are_refused(tmp_path: Path):
    config = tmp_path / "ingest.toml"
    config.write_text('[server]\napi_keys = ["leaked"]\n')
    with pytest.raises(ConfigError, match="INGEST_SERVER__API_KEYS") as caught:
        settings.load(config)
    assert "leaked" not in str(caught.value)


@pytest.mark.parametrize("listen", ["9000", "localhost", "host:port", "1.2.3.4:70000", "fe80::1:9000"])
def test_a_listen_address_that_is_not_host_port_is_refused_with_the_key(listen: str):
    with pytest.raises(ConfigError, match=r"server\.listen"):
        settings.load(server={"listen": listen})


def test_a_requests_own_options_go_over_the_settings_and_nothing_else_may(tmp_path: Path):
    base = JobOptions(language="de", formats=("srt",), model="base")
    stored = json.dumps({"language": None, "formats": ["srt", "json"], "output_dir": str(tmp_path)})
    changed = options.with_overrides(base, stored)
    assert (changed.language, changed.formats, changed.output_dir) == (None, ("srt", "json"), tmp_path)
    assert changed.model == "base"
    assert options.with_overrides(base, None) is base
    with pytest.raises(ValueError, match="engine"):
        options.with_overrides(base, json.dumps({"engine": "other"}))


def test_webhook_path_maps_and_the_jellyfin_user_are_checked_with_the_key(tmp_path: Path):
    config = tmp_path / "ingest.toml"
    config.write_text(
        '[server]\njellyfin_user = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"\n'
        '[server.path_maps]\nsonarr = ["/srv/media/tv=/tv"]\nplex = [["/srv/media/movies", "D:\\\\Movies"]]\n'
    )
    conf = settings.load(config)
    assert conf.server.path_maps == {
        "sonarr": (("/srv/media/tv", "/tv"),),
        "plex": (("/srv/media/movies", "D:\\Movies"),),
    }
    assert conf.server.jellyfin_user == "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    with pytest.raises(ConfigError, match=r"server\.path_maps.*'sickbeard' is not a webhook sender"):
        settings.load(server={"path_maps": {"sickbeard": ["/srv/tv=/tv"]}})
    with pytest.raises(ConfigError, match=r"server\.path_maps\.sonarr.*must be absolute"):
        settings.load(server={"path_maps": {"sonarr": ["tv=/tv"]}})
    with pytest.raises(ConfigError, match=r"server\.jellyfin_user.*not a Jellyfin user id"):
        settings.load(server={"jellyfin_user": "../Items/1"})
