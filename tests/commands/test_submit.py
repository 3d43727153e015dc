"""``ingest submit`` and ``ingest.client`` against the real service on loopback (real
uvicorn, the daemon's workers, tiny.en): outputs land beside the file, a file ingest did
not write is kept, and every failure names the file and exits non-zero."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pysrt
import pytest

from ingest.client import Client, ClientError
from ingest.commands import cli
from tests.support.httpservice import Running, running


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Running]:
    with running(tmp_path / "state") as up:
        yield up


@pytest.fixture
def jfk(tmp_path: Path, shared_media: Path) -> Path:
    return Path(shutil.copy(shared_media / "jfk.flac", tmp_path / "speech.flac"))


def test_submit_writes_the_subtitle_and_transcript_beside_the_file(service: Running, jfk: Path, capsys):
    assert cli.main(["submit", "--server", service.url, "--format", "srt", "--format", "json", str(jfk)]) == 0
    srt, doc = jfk.with_name("speech.en.srt"), jfk.with_name("speech.json")
    assert "done" in capsys.readouterr().out
    cues = pysrt.open(str(srt))
    assert "country" in " ".join(c.text for c in cues).lower()
    assert '"segments"' in doc.read_text(encoding="utf-8")


def test_submit_keeps_a_file_it_did_not_write_and_exits_1(service: Running, jfk: Path, capsys):
    mine = jfk.with_name("speech.en.srt")
    mine.write_text("my own subtitles\n", encoding="utf-8")
    assert cli.main(["submit", "--server", service.url, str(jfk), str(jfk.with_name("absent.flac"))]) == 1
    err = capsys.readouterr().err
    assert "speech.en.srt is already there" in err and "absent.flac: no such file" in err
    assert mine.read_text(encoding="utf-8") == "my own subtitles\n"
    assert cli.main(["submit", "--server", service.url, "--overwrite", str(jfk)]) == 0
    assert "country" in mine.read_text(encoding="utf-8").lower()


def test_submit_no_wait_prints_the_job_and_the_client_follows_it(service: Running, jfk: Path, capsys):
    assert cli.main(["submit", "--server", service.url, "--no-wait", str(jfk)]) == 0
    job_id = capsys.readouterr().out.split("job ")[1].split()[0]
    with Client(service.url) as server:
        job = server.wait(job_id, timeout=120)
        assert job["state"] == "done" and job["language"] == "en"
        assert job_id in [j["id"] for j in server.jobs("done")]
        assert b"WEBVTT" in server.output(job_id, "vtt")
        with pytest.raises(ClientError) as missing:
            server.job("no-such-job")
    assert missing.value.status == 404


def test_a_server_that_is_not_there_is_named(tmp_path: Path, jfk: Path, capsys):
    with Client("http://127.0.0.1:9") as server, pytest.raises(ClientError, match=r"127\.0\.0\.1:9/jobs"):
        server.submit(jfk)
    assert cli.main(["submit", "--server", "ftp://x", str(jfk)]) == 2
