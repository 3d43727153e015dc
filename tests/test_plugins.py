from __future__ import annotations

import pytest

from ingest import plugins
from ingest.errors import ConfigError

BUILTINS = {"faster_whisper", "srt", "vtt", "txt", "json"}


def test_builtins_load_through_entry_points():
    host = plugins.load()
    loaded = {info.name for info in host.infos if info.enabled}
    assert loaded >= BUILTINS
    assert {info.source for info in host.infos if info.name in BUILTINS} == {"ingest"}
    assert all(info.module.startswith("ingest_plugins.") for info in host.infos if info.name in BUILTINS)
    assert host.formats() >= {"srt", "vtt", "txt", "json"}
    assert "faster-whisper" in plugins.engine_names(host)


def test_disabled_plugin_is_listed_but_not_registered():
    host = plugins.load(disabled=["vtt"])
    info = next(i for i in host.infos if i.name == "vtt")
    assert not info.enabled and info.error is None
    assert "vtt" not in host.formats()


def test_unknown_engine_or_format_fails_fast():
    host = plugins.load()
    with pytest.raises(ConfigError, match=r"transcribe\.engine = 'whisperx': not installed"):
        plugins.check_choices(host, "whisperx", ["srt"])
    with pytest.raises(ConfigError, match="'docx' is not written by any plugin"):
        plugins.check_choices(host, "faster-whisper", ["srt", "docx"])


def test_settings_for_a_plugin_nobody_declares_are_refused():
    with pytest.raises(ConfigError, match=r"plugins\.nosuch: no loaded plugin declares settings"):
        plugins.load(raw_settings={"nosuch": {"x": 1}})
