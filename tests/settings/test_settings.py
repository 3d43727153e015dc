from __future__ import annotations

from pathlib import Path

import pytest

from ingest import settings
from ingest.commands import cli
from ingest.errors import ConfigError
from ingest.settings import options


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ingest.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_any_file(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    conf = settings.load()
    assert conf.transcribe.engine == "faster-whisper"
    assert conf.output.formats == ["srt"]
    assert conf.cues.max_line_chars == 42


def test_toml_then_env_override(tmp_path, monkeypatch):
    path = write(tmp_path, '[transcribe]\nmodel = "tiny.en"\nlanguage = "German"\n[output]\nformats = ["srt", "vtt"]\n')
    monkeypatch.setenv("INGEST_TRANSCRIBE__MODEL", "base")
    monkeypatch.setenv("INGEST_OUTPUT__FORMATS", "srt, json")
    conf = settings.load(path)
    assert conf.transcribe.model == "base"  # the environment beats the file
    assert conf.transcribe.language == "de"  # names and 639-2 codes become Whisper's codes
    assert conf.output.formats == ["srt", "json"]


def test_cli_overrides_beat_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("INGEST_TRANSCRIBE__TASK", "translate")
    conf = settings.load(write(tmp_path, ""), transcribe={"task": "transcribe"})
    assert conf.transcribe.task == "transcribe"


def test_bad_values_name_key_value_and_what_is_allowed(tmp_path):
    path = write(tmp_path, '[transcribe]\ndevice = "gpu"\nlanguage = "klingon"\nbeam_sise = 3\n')
    with pytest.raises(ConfigError) as err:
        settings.load(path)
    text = str(err.value)
    assert str(path) in text
    assert "transcribe.device (or INGEST_TRANSCRIBE__DEVICE) = 'gpu': must be auto, cpu, cuda or cuda:N" in text
    assert "transcribe.language" in text and "'klingon'" in text
    assert "transcribe.beam_sise" in text and "unknown key" in text


def test_bad_env_value_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("INGEST_AUDIO__HIGHPASS_HZ", "5")
    with pytest.raises(ConfigError, match=r"audio.highpass_hz .* = '5': must be 0 \(off\) or at least 20 Hz"):
        settings.load(write(tmp_path, ""))


def test_toml_syntax_error_names_the_file(tmp_path):
    path = write(tmp_path, "[transcribe\n")
    with pytest.raises(ConfigError, match=str(path)):
        settings.load(path)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        settings.load(tmp_path / "nope.toml")


def test_secrets_are_refused_in_the_file_but_read_from_env_file(tmp_path):
    with pytest.raises(ConfigError, match="hf_token must not be in the config file"):
        settings.load(write(tmp_path, 'hf_token = "hf_abc"\n'))
    env = tmp_path / "ingest.env"
    env.write_text("INGEST_HF_TOKEN=hf_secret\n", encoding="utf-8")
    conf = settings.load(write(tmp_path, ""), env)
    assert conf.hf_token.get_secret_value() == "hf_secret"
    assert "hf_secret" not in repr(conf)


def test_watch_overrides_apply_to_files_inside_the_watch(tmp_path):
    tv, pods = tmp_path / "tv", tmp_path / "tv" / "podcasts"
    path = write(
        tmp_path,
        f'''
[transcribe]
language = "en"
[[watches]]
path = "{tv}"
formats = ["srt", "vtt"]
[[watches]]
path = "{pods}"
language = "de"
initial_prompt = "Jellyfin und Sonarr"
hotwords = "Jellyfin, Sonarr"
''',
    )
    conf = settings.load(path)
    outside = options.job_options(conf, tmp_path / "x.mkv")
    show = options.job_options(conf, tv / "Show S01E01.mkv")
    episode = options.job_options(conf, pods / "ep1.mp3")
    assert (outside.language, outside.formats) == ("en", ("srt",))
    assert (show.language, show.formats) == ("en", ("srt", "vtt"))
    assert episode.language == "de"
    assert (episode.initial_prompt, episode.hotwords) == ("Jellyfin und Sonarr", ("Jellyfin", "Sonarr"))
    pinned = options.job_options(conf, pods / "ep1.mp3", pinned=frozenset({"language"}))
    assert pinned.language == "en"  # a command-line option beats the watch entry


def test_example_config_is_valid():
    example = Path(__file__).resolve().parents[2] / "config" / "ingest.toml"
    conf = settings.load(example)
    assert conf == settings.load(example)
    assert conf.transcribe.model == "auto"


def test_band_limit_can_be_switched_off_from_toml_and_env(tmp_path, monkeypatch):
    loaded = settings.load(write(tmp_path, "[audio]\nhighpass_hz = 0\nlowpass_hz = 7800\n"))
    assert loaded.audio.highpass_hz is None and loaded.audio.lowpass_hz == 7800
    monkeypatch.setenv("INGEST_AUDIO__LOWPASS_HZ", "0")
    assert settings.load(write(tmp_path, "[audio]\nlowpass_hz = 7800\n")).audio.lowpass_hz is None


def test_lists_of_names_split_at_commas_only(tmp_path, monkeypatch):
    """A speaker or a hotword may be two words: "Ana Müller" is one speaker, not two."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    args = cli.parser().parse_args(
        ["process", "a.mp3", "--speaker-names", "Ana Müller, Ben Smith", "--hotwords", "New York,Jellyfin"]
    )
    nested, _ = cli.overrides_of(args)
    conf = settings.load(None, None, **nested)
    assert conf.diarize.speaker_names == ["Ana Müller", "Ben Smith"]
    assert conf.transcribe.hotwords == ["New York", "Jellyfin"]
    monkeypatch.setenv("INGEST_DIARIZE__SPEAKER_NAMES", "Dr. Jo Lee,,Sam")
    assert settings.load().diarize.speaker_names == ["Dr. Jo Lee", "Sam"]
    watch = settings.WatchSettings(path=tmp_path, speaker_names="Ana Müller", hotwords="Home Assistant, Plex")
    assert (watch.speaker_names, watch.hotwords) == (["Ana Müller"], ["Home Assistant", "Plex"])
    assert settings.OutputSettings(formats="srt vtt,json").formats == ["srt", "vtt", "json"]  # not names
