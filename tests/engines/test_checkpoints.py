"""Where openai-whisper checkpoints come from, in the one resolution order."""

from __future__ import annotations

import shutil

import pytest

from ingest.engines import checkpoints, weights
from ingest.errors import ConfigError


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "models"


@pytest.fixture(scope="module")
def tiny_pt(tmp_path_factory):
    """tiny.en converted once, as ingest does on first use."""
    folder = tmp_path_factory.mktemp("converted")
    return checkpoints.resolve("tiny.en", folder).path


def test_shipped_weights_are_converted_once_into_the_models_folder(dirs):
    ref = checkpoints.resolve("tiny.en", dirs)
    assert (ref.source, ref.path) == ("converted", dirs / "tiny.en" / "openai-whisper.pt")
    assert (ref.path.parent / "openai-whisper.pt.sha256").is_file()
    mtime = ref.path.stat().st_mtime_ns
    again = checkpoints.resolve("tiny.en", dirs)
    assert (again.source, again.path.stat().st_mtime_ns) == ("models_dir", mtime)


def test_openai_download_cache_beats_conversion(dirs, tiny_pt):
    cached = checkpoints.whisper_cache() / "tiny.en.pt"
    cached.parent.mkdir(parents=True)
    shutil.copy(tiny_pt, cached)
    assert checkpoints.resolve("tiny.en", dirs) == weights.ModelRef("tiny.en", "cache", cached)


def test_explicit_paths(dirs, tiny_pt, tmp_path):
    assert checkpoints.resolve(str(tiny_pt), dirs).source == "path"
    ct2 = weights.resolve("tiny.en", dirs).path
    folder = tmp_path / "my-model"
    shutil.copytree(ct2, folder)
    ref = checkpoints.resolve(str(folder), dirs)
    assert (ref.source, ref.path) == ("converted", dirs / "my-model" / "openai-whisper.pt")
    with pytest.raises(ConfigError, match=r"neither a \.pt checkpoint nor a folder with model\.bin"):
        checkpoints.resolve(str(tmp_path / "nothing"), dirs)


def test_unknown_names_go_to_openai_whisper_download(dirs):
    assert checkpoints.resolve("large-v3", dirs) == weights.ModelRef("large-v3", "download")


def test_auto_and_available(dirs):
    names = [ref.name for ref in checkpoints.available(dirs)]
    assert names[:2] == ["base", "tiny.en"]
    assert checkpoints.resolve("auto", dirs).name == "base"
