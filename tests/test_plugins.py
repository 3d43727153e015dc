from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict

from ingest import pipeline, plugins
from ingest.errors import ConfigError, Skipped
from ingest.media import probe as media_mod
from ingest.models import Job, JobOptions
from ingest.settings import Settings

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


class GreeterSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    greeting: str = "Hello"
    repeat: int = 1


class Greeter:
    """A plugin object registered on a fresh host (a real plugin is a module; pluggy treats both alike)."""

    def __init__(self, answer: bool | str | None = None) -> None:
        self.answer = answer
        self.calls: list[tuple] = []

    @plugins.hookimpl
    def ingest_plugin_settings(self):
        return "greeter", GreeterSettings

    @plugins.hookimpl
    def ingest_startup(self, plugin_config, command):
        self.calls.append(("startup", command, plugin_config["greeter"].greeting))

    @plugins.hookimpl
    def ingest_shutdown(self):
        self.calls.append(("shutdown",))

    @plugins.hookimpl
    def ingest_accept(self, media):
        self.calls.append(("accept", media.path.name))
        return self.answer


def fresh_host(*greeters: Greeter) -> plugins.Host:
    host = plugins.Host()
    for index, greeter in enumerate(greeters):
        host.register(greeter, f"greeter{index}")
    return host


def test_ingest_plugin_settings_reach_ingest_startup_and_shutdown_always_follows():
    greeter = Greeter()
    host = fresh_host(greeter)
    plugins.validate_settings(host, {"greeter": {"greeting": "Hi"}})
    with pytest.raises(RuntimeError, match="work failed"), host.serving(Settings(), command="scan"):
        assert greeter.calls == [("startup", "scan", "Hi")]
        raise RuntimeError("work failed")
    assert greeter.calls[-1] == ("shutdown",), "ingest_shutdown runs even when the work raised"


class Refuser:
    """A plugin whose startup refuses to run (a missing API key, say)."""

    @plugins.hookimpl
    def ingest_startup(self):
        raise ConfigError("plugins.refuser: no key")


def test_a_plugin_refusing_to_start_still_lets_started_ones_shut_down():
    greeter = Greeter()
    host = plugins.Host()
    host.register(Refuser(), "refuser")
    host.register(greeter, "greeter")  # pluggy calls the later registration first: it starts, then the refusal
    plugins.validate_settings(host, {"greeter": {}})
    with pytest.raises(ConfigError, match="no key"), host.serving(Settings()):
        pytest.fail("the work must not run when a plugin refused to start")
    assert greeter.calls == [("startup", "process", "Hello"), ("shutdown",)]


def test_bad_plugin_setting_names_the_key_and_its_variable():
    host = fresh_host(Greeter())
    with pytest.raises(ConfigError, match=r"plugins\.greeter\.repeat \(or INGEST_PLUGINS__GREETER__REPEAT\) = 'often'"):
        plugins.validate_settings(host, {"greeter": {"repeat": "often"}})
    with pytest.raises(ConfigError, match=r"plugins\.greeter\.colour .*Extra inputs"):
        plugins.validate_settings(host, {"greeter": {"colour": "red"}})


def test_a_disabled_plugin_keeps_its_table():
    host = plugins.load(disabled=["vtt"], raw_settings={"vtt": {"anything": 1}})
    assert "vtt" not in host.settings and "vtt" not in host.formats()


@pytest.mark.parametrize(
    ("answers", "reason"),
    [((None, True), None), ((None, "too quiet"), "too quiet"), ((False, None), "declined by a plugin")],
)
def test_ingest_accept_any_skip_wins(speech_en_wav, answers, reason):
    greeters = [Greeter(answer) for answer in answers]
    media = media_mod.probe(speech_en_wav)
    job = Job(speech_en_wav, JobOptions())
    if reason is None:
        pipeline.accept(fresh_host(*greeters), media, job)
    else:
        with pytest.raises(Skipped) as skipped:
            pipeline.accept(fresh_host(*greeters), media, job)
        assert skipped.value.reason == reason
    assert all(g.calls == [("accept", speech_en_wav.name)] for g in greeters), "every plugin is asked"


def test_ingest_engines_describe_the_builtin_engines():
    host = plugins.load()
    infos = {info.name: info for answer in host.hook.ingest_engines() for info in answer}
    assert {"faster-whisper", "openai-whisper"} <= set(infos)
    assert all(isinstance(info, plugins.EngineInfo) for info in infos.values())
    assert infos["faster-whisper"].available and infos["faster-whisper"].device


def test_ingest_formats_each_writer_names_its_own():
    host = plugins.load()
    answers = {impl.plugin_name: impl.function() for impl in host.hook.ingest_formats.get_hookimpls()}
    expected = {"srt": ["srt"], "vtt": ["vtt"], "txt": ["txt"], "json": ["json"], "podcast": ["podcast"]}
    assert expected.items() <= answers.items()
    assert host.formats() == {fmt for fmts in answers.values() for fmt in fmts}
