"""What ingest writes, read back by the strict readers players, converters and podcast apps
use: webvtt-py, pysrt, srt, pysubs2, feedparser, a JSON Schema validator, and ffmpeg's own
subtitle readers (what burn-ins and conversions see), on the outputs of a real
``ingest process`` run (tiny.en on JFK, in a watch that names a podcast feed)."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import feedparser
import jsonschema
import pysrt
import pysubs2
import pytest
import srt
import webvtt
from ingest_plugins import json_writer
from ingest_plugins import srt as srt_writer
from ingest_plugins import vtt as vtt_writer

from ingest.models import Cue
from ingest.settings import CueSettings
from tests.support.wer import JFK, wer

BASE = "https://cdn.example/transcripts/"
FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">
  <channel>
    <title>Speeches</title>
    <link>https://example.org/</link>
    <description>Old speeches</description>
    <item>
      <title>Inaugural address</title>
      <guid isPermaLink="false">jfk-1961</guid>
      <enclosure url="https://cdn.example/jfk.flac" length="1" type="audio/flac"/>
    </item>
  </channel>
</rss>
"""


@pytest.fixture(scope="module")
def run(shared_media, tmp_path_factory) -> Path:
    """The folder of one real run: srt, vtt, txt, json and podcast beside jfk.flac."""
    root = tmp_path_factory.mktemp("readers")
    media = root / "show"
    media.mkdir()
    shutil.copy(shared_media / "jfk.flac", media / "jfk.flac")
    (root / "feed.xml").write_text(FEED, encoding="utf-8")
    config = root / "ingest.toml"
    config.write_text(
        f'[[watches]]\npath = "{media}"\nfeed = "{root / "feed.xml"}"\nfeed_base_url = "{BASE}"\n', encoding="utf-8"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGEST_")}
    env["XDG_CONFIG_HOME"] = str(root / "no-config")
    cmd = [sys.executable, "-m", "ingest", "--config", str(config), "process", str(media / "jfk.flac")]
    cmd += ["--model", "tiny.en", "--format", "srt,vtt,txt,json,podcast"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return media


def cues_of(run: Path) -> list[dict]:
    return json.loads((run / "jfk.en.json").read_text(encoding="utf-8"))["cues"]


@pytest.mark.slow  # the real run
def test_json_output_keeps_the_shipped_schema(run):
    doc = json.loads((run / "jfk.en.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(json_writer.schema()).validate(doc)
    assert wer(JFK, doc["text"]) <= 0.05
    for seg in doc["segments"]:  # segment bounds hold their words
        assert seg["start"] <= min(w["start"] for w in seg["words"]) and seg["end"] >= max(
            w["end"] for w in seg["words"]
        )


@pytest.mark.slow  # the real run
def test_podcasting_2_0_json(run):
    doc = json.loads((run / "jfk.en.transcript.json").read_text(encoding="utf-8"))
    assert doc["version"] == "1.0.0" and doc["segments"]
    for seg in doc["segments"]:
        assert set(seg) <= {"speaker", "startTime", "endTime", "body"} and 0 <= seg["startTime"] <= seg["endTime"]


@pytest.mark.slow  # the real run
def test_webvtt_py_reads_every_cue(run):
    path = run / "jfk.en.vtt"
    assert path.read_text(encoding="utf-8").startswith("WEBVTT\n\n")
    captions = webvtt.read(str(path))
    assert [c.text for c in captions] == ["\n".join(c["lines"]) for c in cues_of(run)]
    assert [c.start_in_seconds for c in captions] == [int(c["start"]) for c in cues_of(run)]


@pytest.mark.slow  # the real run
def test_vtt_lines_keep_the_podcast_limit(run):
    assert max(len(ln) for c in webvtt.read(str(run / "jfk.en.vtt")) for ln in c.text.splitlines()) <= 65


@pytest.mark.slow  # the real run
def test_srt_and_pysrt_read_every_cue_with_podcast_lines(run):
    text = (run / "jfk.en.srt").read_text(encoding="utf-8")
    strict = list(srt.parse(text, ignore_errors=False))
    lenient = pysrt.from_string(text, error_handling=pysrt.ERROR_RAISE)
    assert [s.content for s in strict] == [s.text for s in lenient]
    assert [s.index for s in strict] == list(range(1, len(strict) + 1))
    lines = [ln for s in strict for ln in s.content.splitlines()]
    assert max(map(len, lines)) <= 32 and all(len(s.content.splitlines()) <= 2 for s in strict)  # a feed's SRT
    assert wer(JFK, " ".join(lines)) <= 0.05
    assert all(a.end <= b.start for a, b in itertools.pairwise(strict))


@pytest.mark.slow  # the real run
@pytest.mark.parametrize("name", ["jfk.en.srt", "jfk.en.vtt"])
def test_pysubs2_reads_both_subtitle_formats(run, name):
    subs = pysubs2.load(str(run / name))
    assert len(subs) > 0 and all(e.end > e.start for e in subs)
    assert wer(JFK, " ".join(e.plaintext.replace("\n", " ") for e in subs)) <= 0.05


@pytest.mark.slow  # the real run
def test_feedparser_reads_the_feed_with_its_transcript_tags(run):
    feed = feedparser.parse((run.parent / "feed.xml").read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    [entry] = feed.entries
    assert entry.get("podcast_transcript", {}).get("url", "").startswith(BASE)
    text = (run.parent / "feed.xml").read_text(encoding="utf-8")
    for name in ("jfk.en.vtt", "jfk.en.srt", "jfk.en.transcript.json", "jfk-transcript.en.txt"):
        assert f'url="{BASE}{name}"' in text


# -- ffmpeg's readers: what a burn-in or a conversion to ASS shows --

HOSTILE = "{\\an8}Ana <b>Bo</b> {x} & Co"


def as_ass(path: Path) -> list[str]:
    out = path.with_suffix(".ass")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(path), str(out)], check=True, timeout=60)
    return [ln.split(",", 9)[9] for ln in out.read_text(encoding="utf-8").splitlines() if ln.startswith("Dialogue:")]


def test_ffmpeg_shows_labels_as_text_and_keeps_voice_names_out_of_the_cue(tmp_path):
    cues = (Cue(0.0, 2.0, ("Hi & all.",), HOSTILE), Cue(2.0, 4.0, ("Bye.",), "Tom & Jerry"))
    (tmp_path / "a.srt").write_text(srt_writer.render(cues, CueSettings(max_line_chars=60)), encoding="utf-8")
    (tmp_path / "a.vtt").write_text(vtt_writer.render(cues, "en"), encoding="utf-8")
    assert as_ass(tmp_path / "a.srt")[0] == "(/an8)Ana \u2039b\u203aBo\u2039/b\u203a (x) & Co: Hi & all."
    assert as_ass(tmp_path / "a.vtt") == ["Hi & all.", "Bye."]
