"""whisper-asr-webservice's API on real uvicorn, driven the way Bazarr and its peers drive it:
raw PCM made by Bazarr's own ffmpeg command, its query, its multipart part and its timeouts;
the subtitle read back with pysrt. The real tiny.en weights transcribe the JFK clip."""

from __future__ import annotations

import json
from pathlib import Path

import pysrt
import requests

from tests.support.httpservice import Running

BAZARR_TIMEOUT = (5, 3600)  # its provider's (connect, read) default


def bazarr_asr(url: str, pcm: bytes, output: str = "srt", **extra: str) -> requests.Response:
    """The request Bazarr's Whisper provider sends, byte for byte in its shape."""
    params = {"task": "transcribe", "language": "en", "output": output, "encode": "false"}
    params |= {"video_file": "/tv/Show/Season 01/Show S01E02.mkv", **extra}
    return requests.post(f"{url}/asr", params=params, files={"audio_file": ("audio_file", pcm)}, timeout=BAZARR_TIMEOUT)


def test_bazarr_gets_an_srt_that_pysrt_reads_with_the_headers_it_expects(service: Running, jfk_pcm: bytes):
    answer = bazarr_asr(service.url, jfk_pcm)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/plain; charset=utf-8"
    assert answer.headers["asr-engine"] == "faster-whisper"
    assert answer.headers["content-disposition"] == 'attachment; filename="audio_file.srt"'
    subs = pysrt.from_string(answer.text)
    assert len(subs) >= 2 and subs[0].index == 1
    text = " ".join(s.text.replace("\n", " ") for s in subs).lower()
    assert "ask not what your country can do for you" in text
    assert all(s.end > s.start for s in subs)
    # Bazarr's Test button: GET /status at the root, a version in JSON
    status = requests.get(f"{service.url}/status", timeout=5)
    assert status.status_code == 200 and status.json()["version"]


def test_every_output_format_comes_from_the_one_job(service: Running, jfk_pcm: bytes):
    outputs = ("srt", "vtt", "txt", "tsv", "json")
    bodies = {fmt: bazarr_asr(service.url, jfk_pcm, fmt, word_timestamps="true") for fmt in outputs}
    assert {fmt: a.status_code for fmt, a in bodies.items()} == dict.fromkeys(bodies, 200)
    assert len(service.rows()) == 1  # the format is not part of the job: one run served all five
    vtt = bodies["vtt"].text
    assert vtt.startswith("WEBVTT\n\n") and " --> " in vtt
    txt = bodies["txt"].text.splitlines()
    tsv = bodies["tsv"].text.splitlines()
    assert tsv[0] == "start\tend\ttext" and len(tsv) == len(txt) + 1
    start, end, _ = tsv[1].split("\t")
    assert start.isdigit() and int(end) > int(start)  # integer milliseconds
    doc = json.loads(bodies["json"].text)
    assert doc["language"] == "en" and "ask not what your country" in doc["text"].lower()
    first = doc["segments"][0]
    assert {"id", "seek", "start", "end", "text", "tokens", "avg_logprob", "compression_ratio"} <= first.keys()
    assert {"no_speech_prob", "words", "temperature"} <= first.keys()
    assert first["words"] and {"start", "end", "word", "probability"} == first["words"][0].keys()
    assert bodies["json"].headers["content-type"] == "text/plain; charset=utf-8"


def test_an_odd_byte_count_of_pcm_is_refused_and_leaves_no_spool_file(service: Running, jfk_pcm: bytes):
    answer = bazarr_asr(service.url, jfk_pcm[:-1])
    assert answer.status_code == 400
    assert "odd" in answer.json()["detail"]
    assert not answer.text.startswith("1\n")  # no subtitle body
    assert service.spool_files() == [] and service.rows() == []


def test_an_upload_that_is_not_audio_is_a_400_with_nothing_left_behind(service: Running):
    files = {"audio_file": ("notes.mkv", b"these are not the frames you are looking for\n" * 100)}
    answer = requests.post(f"{service.url}/asr", params={"output": "srt"}, files=files, timeout=30)
    assert answer.status_code == 400 and "not audio" in answer.json()["detail"]
    assert service.spool_files() == [] and service.rows() == []


def test_detect_language_names_the_language_as_whisper_does(service: Running, shared_media: Path):
    flac = (shared_media / "jfk.flac").read_bytes()
    answer = requests.post(f"{service.url}/detect-language", files={"audio_file": ("jfk.flac", flac)}, timeout=60)
    assert answer.status_code == 200
    body = answer.json()
    assert (body["detected_language"], body["language_code"]) == ("english", "en")
    assert 0 < body["confidence"] <= 1


def test_health_answers_with_the_queue(service: Running):
    answer = requests.get(f"{service.url}/health", timeout=5)
    assert answer.status_code == 200 and answer.json()["status"] == "ok"
    assert answer.json()["jobs"]["pending"] == 0
