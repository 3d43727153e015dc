"""OpenAI's audio API on real uvicorn, driven by the real ``openai`` SDK (and httpx where the
raw response matters: status, headers, the error body)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
import webvtt

from ingest.media import probe
from tests.support.httpservice import Running


@pytest.fixture
def client(service: Running) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{service.url}/v1", api_key="x", max_retries=2) as sdk:
        yield sdk


def test_transcriptions_in_every_response_format_from_one_job(
    client: openai.OpenAI, service: Running, shared_media: Path, tmp_path: Path
):
    jfk = shared_media / "jfk.flac"
    plain = client.audio.transcriptions.create(model="whisper-1", file=jfk)
    assert "ask not what your country can do for you" in plain.text.lower()
    text = client.audio.transcriptions.create(model="whisper-1", file=jfk, response_format="text")
    assert isinstance(text, str) and text.strip() == plain.text
    srt = client.audio.transcriptions.create(model="whisper-1", file=jfk, response_format="srt")
    assert srt.startswith("1\n00:00:00,")
    vtt = client.audio.transcriptions.create(model="whisper-1", file=jfk, response_format="vtt")
    (tmp_path / "a.vtt").write_text(vtt)
    assert len(webvtt.read(str(tmp_path / "a.vtt"))) >= 2
    assert len(service.rows()) == 1  # one upload, one set of options: one run for every format


def test_verbose_json_has_the_words_at_the_top_level(client: openai.OpenAI, shared_media: Path):
    verbose = client.audio.transcriptions.create(
        model="whisper-1",
        file=shared_media / "jfk.flac",
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
        language="en",
    )
    assert (verbose.language, verbose.task) == ("english", "transcribe")
    assert verbose.duration == pytest.approx(probe.probe(shared_media / "jfk.flac").duration, abs=0.02)
    assert verbose.words and [w.word for w in verbose.words[:3]] == ["And", "so,", "my"]
    assert all(w.end >= w.start for w in verbose.words)
    assert verbose.segments and verbose.segments[0].id == 0 and verbose.segments[0].text.strip()


def test_translations_answer_in_english(client: openai.OpenAI, shared_media: Path):
    with warnings.catch_warnings():  # openai-python 3 marks the endpoint deprecated; clients still call it
        warnings.simplefilter("ignore", DeprecationWarning)
        english = client.audio.translations.create(model="whisper-1", file=shared_media / "jfk.flac")
    assert "your country" in english.text.lower()


def test_models_lists_whisper_1(client: openai.OpenAI):
    assert "whisper-1" in [m.id for m in client.models.list()]


def test_errors_are_openai_shaped_with_real_status_and_no_retry(
    client: openai.OpenAI, service: Running, shared_media: Path
):
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.transcriptions.create(model="whisper-1", file=shared_media / "jfk.flac", response_format="docx")  # type: ignore[arg-type]
    assert caught.value.status_code == 400
    assert caught.value.body["param"] == "response_format"  # type: ignore[index]
    raw = httpx.post(
        f"{service.url}/v1/audio/transcriptions",
        files={"file": ("jfk.flac", (shared_media / "jfk.flac").read_bytes())},
        timeout=30,
    )
    assert raw.status_code == 400 and raw.headers["x-should-retry"] == "false"
    error = raw.json()["error"]
    assert error.keys() == {"message", "type", "param", "code"}
    assert (error["type"], error["param"]) == ("invalid_request_error", "model")
    assert service.spool_files() == [] and service.rows() == []  # refused uploads leave nothing


def test_a_file_that_is_not_audio_is_a_400_the_sdk_does_not_retry(client: openai.OpenAI, service: Running):
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.transcriptions.create(model="whisper-1", file=("notes.mp3", b"not audio at all\n" * 64))
    assert "not audio" in caught.value.message
    assert service.rows() == []
