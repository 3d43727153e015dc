"""The text writer's file name: beside audio, one Jellyfin does not take for lyrics.

The rendering itself (paragraphs, speaker turns) is tested with the other writers in
``test_writers.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ingest_plugins import podcast_feed, skip_existing, txt

from ingest import pipeline
from ingest.errors import ConfigError, OutputExistsError
from ingest.models import JobResult
from ingest.settings import Settings
from ingest.subtitles import outputs
from ingest.testing import fresh_host, make_job, make_transcript

LYRIC_ENDINGS = (".lrc", ".elrc", ".txt")


def jellyfin_lyrics(media: Path, candidate: Path) -> bool:
    """Whether Jellyfin shows ``candidate`` as lyrics of the audio file ``media``: a lyric
    ending, and a name (without it) that is the audio's, or the audio's and a dot and more.
    Case is ignored; the names here hold no accents or symbols before the stem's end."""
    if candidate.parent != media.parent or candidate.suffix.lower() not in LYRIC_ENDINGS:
        return False
    name, stem = candidate.stem.casefold(), media.stem.casefold()
    return name == stem or name.startswith(stem + ".")


@pytest.fixture(autouse=True)
def restore_settings(monkeypatch):
    monkeypatch.setattr(txt, "_settings", txt._settings)  # restored after each test


def written(media: Path, config: dict | None = None, **options) -> Path:
    """The text transcript the hook writes for ``media``, under ``[plugins.txt]`` = ``config``."""
    host = fresh_host(txt, config={"txt": config} if config is not None else None)
    job = make_job(media, formats=("txt",), **options)
    with host.serving(Settings()):
        [[path]] = host.hook.ingest_write_outputs(job=job, transcript=make_transcript("Hello there."))
    return path


@pytest.mark.parametrize("name", ["ep42.mp3", "ep42.flac", "Book.M4B", "ep42.opus", "ep42.wav", "ep42.mka"])
def test_beside_audio_the_transcript_is_not_read_as_lyrics(tmp_path: Path, name: str):
    media = tmp_path / name
    path = written(media)
    assert path.name == f"{media.stem}-transcript.en.txt"
    assert path.read_text(encoding="utf-8") == "Hello there.\n"
    assert not jellyfin_lyrics(media, path)
    assert jellyfin_lyrics(media, tmp_path / f"{media.stem}.en.txt"), "the old name was read as lyrics"


@pytest.mark.parametrize("name", ["Show S01E02.mkv", "film.mp4", "clip.webm"])
def test_beside_video_the_name_stays(tmp_path: Path, name: str):
    assert written(tmp_path / name).name == f"{Path(name).stem}.en.txt"


def test_the_setting_keeps_the_old_name_beside_audio(tmp_path: Path):
    assert written(tmp_path / "ep42.mp3", {"audio_name": "sidecar"}).name == "ep42.en.txt"
    assert written(tmp_path / "ep43.mp3", {"audio_name": "transcript"}).name == "ep43-transcript.en.txt"
    with pytest.raises(ConfigError, match="audio_name"):
        fresh_host(txt, config={"txt": {"audio_name": "lyrics"}})


def test_flags_language_codes_and_output_folder_follow_the_new_stem(tmp_path: Path):
    (tmp_path / "out").mkdir()  # the pipeline's preflight makes it
    path = written(tmp_path / "ep42.mp3", output_dir=tmp_path / "out", language_codes="639-2/B", sdh=True)
    assert path == tmp_path / "out" / "ep42-transcript.eng.sdh.txt"


def test_the_pipeline_checks_the_name_it_will_write(tmp_path: Path):
    """Taken names are judged on the real target: a file of someone else's at the new name
    refuses the job; the user's own ``ep42.en.txt`` (what the old name would be) does not."""
    job = make_job(tmp_path / "ep42.mp3", formats=("srt", "txt"))
    assert [p.name for p in pipeline.targets(job, "en")] == ["ep42.en.srt", "ep42-transcript.en.txt"]
    (tmp_path / "ep42.en.txt").write_text("my notes\n", encoding="utf-8")
    outputs.check_free(job, pipeline.targets(job, "en"))
    (tmp_path / "ep42-transcript.en.txt").write_text("someone else's\n", encoding="utf-8")
    with pytest.raises(OutputExistsError):
        outputs.check_free(job, pipeline.targets(job, "en"))


def test_skip_existing_knows_the_name_is_ingests_own(tmp_path: Path):
    job = make_job(tmp_path / "ep42.mp3", formats=("txt",))
    assert skip_existing._is_target(job, tmp_path / "ep42-transcript.en.txt", "en")
    assert not skip_existing._is_target(job, tmp_path / "ep42.en.txt", "en")


def test_the_feed_links_the_transcript_as_plain_text(tmp_path: Path):
    result = JobResult(tmp_path / "ep42.mp3", "done", outputs=(tmp_path / "ep42-transcript.en.txt",), language="en")
    [tag] = podcast_feed.tags(result, "https://cdn.example/")
    assert (tag.url, tag.type, tag.captions) == ("https://cdn.example/ep42-transcript.en.txt", "text/plain", False)
