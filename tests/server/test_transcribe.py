"""``POST /transcribe`` on real uvicorn, as the self-hosted Whisper services' clients call it:
``requests`` uploads the JFK clip, the real tiny.en weights transcribe it on the CPU."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from ingest.media import probe
from tests.support.httpservice import Running

TIMEOUT = 120


@pytest.fixture(scope="module")
def jfk(shared_media: Path) -> bytes:
    return (shared_media / "jfk.flac").read_bytes()


def transcribe(url: str, audio: bytes, name: str = "jfk.flac", **options: str) -> requests.Response:
    """Options as form fields, the way a browser form or ``curl -F`` sends them."""
    return requests.post(f"{url}/transcribe", files={"file": (name, audio)}, data=options, timeout=TIMEOUT)


def test_the_transcript_comes_back_with_its_segments_and_the_language_found(
    service: Running, jfk: bytes, shared_media: Path
):
    answer = transcribe(service.url, jfk)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert "ask not what your country can do for you" in body["text"].lower()
    assert body["language"] == "en"  # detected: none was asked for
    assert body["duration"] == pytest.approx(probe.probe(shared_media / "jfk.flac").duration, abs=0.02)
    assert body["speakers"] == []
    segments = body["segments"]
    assert [s["id"] for s in segments] == list(range(len(segments)))
    assert all(s["speaker"] is None and s["end"] > s["start"] and "words" not in s for s in segments)
    assert " ".join(s["text"] for s in segments).lower().count("country") == 2


def test_words_when_asked_from_the_same_job(service: Running, jfk: bytes):
    plain = transcribe(service.url, jfk, language="en")
    # the query way, as whisper-asr-webservice's clients send options; words cost no second run
    params = {"language": "English", "word_timestamps": "true"}
    files = {"file": ("jfk.flac", jfk)}
    worded = requests.post(f"{service.url}/transcribe", params=params, files=files, timeout=TIMEOUT)
    assert plain.status_code == worded.status_code == 200
    assert len(service.rows()) == 1
    segments = worded.json()["segments"]
    words = [w for s in segments for w in s["words"]]
    assert {"word", "start", "end", "probability"} == words[0].keys()
    assert "ask" in [w["word"].strip(",.").lower() for w in words]
    assert all(s["start"] <= w["start"] < w["end"] <= s["end"] + 0.01 for s in segments for w in s["words"])
    assert all(0 < w["probability"] <= 1 for w in words)
    assert [s["text"] for s in segments] == [s["text"] for s in plain.json()["segments"]]


def test_diarized_segments_name_their_speaker_and_the_speakers_are_listed_once(service: Running, jfk: bytes):
    answer = transcribe(service.url, jfk, diarize="true", min_speakers="1", max_speakers="2")
    assert answer.status_code == 200
    body = answer.json()
    labels = [s["speaker"] for s in body["segments"]]
    assert all(labels) and body["speakers"] == sorted(set(labels))
    (row,) = service.rows()
    options = json.loads(row["options"])
    assert (options["diarize"], options["min_speakers"], options["max_speakers"]) == (True, 1, 2)


@pytest.mark.parametrize(
    ("body", "name"),
    [
        (b"these are not the frames you are looking for\n" * 100, "notes.mkv"),
        (b"no audio", "a.flac"),  # ffprobe names a flac stream in it, with no channels
    ],
)
def test_an_upload_that_is_not_audio_is_a_400_with_nothing_left_behind(service: Running, body: bytes, name: str):
    answer = transcribe(service.url, body, name=name)
    assert answer.status_code == 400 and "not audio" in answer.json()["detail"]
    assert service.spool_files() == [] and service.rows() == []


BAD_OPTIONS = [
    ({"task": "summarise"}, "task"),
    ({"word_timestamps": "maybe"}, "word_timestamps"),
    ({"diarize": "true", "min_speakers": "3", "max_speakers": "2"}, "min_speakers"),
    ({"min_speakers": "0"}, "min_speakers"),
    ({"language": "klingon"}, "klingon"),
]


def test_a_bad_option_is_a_400_naming_it_with_nothing_left_behind(service: Running, jfk: bytes):
    for options, named in BAD_OPTIONS:
        answer = transcribe(service.url, jfk, **options)
        assert answer.status_code == 400 and named in answer.json()["detail"], options
        assert service.spool_files() == [] and service.rows() == [], options


def test_whisper_asr_webservices_part_name_works_too(service: Running, jfk: bytes):
    answer = requests.post(f"{service.url}/transcribe", files={"audio_file": ("jfk.flac", jfk)}, timeout=TIMEOUT)
    assert answer.status_code == 200 and "country" in answer.json()["text"]
    none = requests.post(f"{service.url}/transcribe", files={"other": ("jfk.flac", b"x")}, timeout=TIMEOUT)
    assert none.status_code == 400 and "'file' or 'audio_file'" in none.json()["detail"], none.text
