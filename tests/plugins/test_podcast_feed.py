"""The podcast feed plugin, on a realistic RSS feed written to a temporary folder."""

from __future__ import annotations

import re
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from ingest_plugins import podcast_feed
from ingest_plugins.podcast_feed import feedxml
from structlog.testing import capture_logs

from ingest import pipeline, testing
from ingest.models import Job, JobResult

NS = "https://podcastindex.org/namespace/1.0"
ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
BASE = "https://cdn.example/transcripts/"

ITEM_41 = """<item>
      <title>Episode 41: Backups</title>
      <itunes:episode>41</itunes:episode>
      <guid isPermaLink="false">show-ep41</guid>
      <enclosure url="https://cdn.example/ep41.mp3" length="1234" type="audio/mpeg"/>
    </item>"""

FEED = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"
     xmlns:itunes="{ITUNES}"
     xmlns:atom="http://www.w3.org/2005/Atom">
  <channel>
    <title>Home Server Hour</title>
    <link>https://example.org/show</link>
    <atom:link href="https://example.org/feed.xml" rel="self" type="application/rss+xml"/>
    <language>en</language>
    <itunes:author>Sam &amp; Alex</itunes:author>
    <itunes:category text="Technology"/>
    <!-- episodes newest first; edited by hand -->
    <item>
      <title>Episode 42: NAS shares</title>
      <description><![CDATA[<p>Show notes with <b>HTML</b> & more.</p>]]></description>
      <itunes:duration>00:41:07</itunes:duration>
      <guid isPermaLink="false">show-ep42</guid>
      <enclosure url="https://cdn.example/ep%2042.mp3?src=rss" length="5678" type="audio/mpeg"/>
    </item>
    {ITEM_41}
  </channel>
</rss>
"""

OUTPUTS = ("ep 42.en.transcript.json", "ep 42.en.vtt", "ep 42.en.srt", "ep 42.en.txt", "ep 42.en.json")


def write_feed(tmp_path: Path, text: str = FEED, encoding: str = "utf-8") -> Path:
    feed = tmp_path / "feed.xml"
    feed.write_bytes(text.encode(encoding))
    return feed


def make_job(tmp_path: Path, feed: Path | None, media: str = "ep 42.mp3", **kw) -> tuple[Job, JobResult]:
    """A finished job with its output files really present beside the media."""
    media_path = tmp_path / media
    media_path.write_bytes(b"ID3")
    stem = media_path.stem
    names = kw.pop("outputs", tuple(n.replace("ep 42", stem) for n in OUTPUTS))
    for name in names:
        (tmp_path / name).write_text("x\n", encoding="utf-8")
    job = testing.make_job(media_path, feed=feed, feed_base_url=kw.pop("base_url", BASE))
    result = JobResult(
        path=media_path,
        status=kw.pop("status", "done"),
        outputs=tuple(tmp_path / n for n in names),
        language=kw.pop("language", "en"),
    )
    return job, result


def transcripts(text: str, media: str = "ep%2042.mp3") -> list[dict[str, str]]:
    """The transcript tags of the item whose enclosure URL contains ``media``."""
    root = ET.fromstring(text.encode())
    item = next(i for i in root.iter("item") if media in i.find("enclosure").get("url"))
    return [dict(t.attrib) for t in item.findall(f"{{{NS}}}transcript")]


def run(job: Job, result: JobResult) -> None:
    """Through a fresh plugin host, exactly as the pipeline calls the hook."""
    pipeline.finish(testing.fresh_host(podcast_feed), job, result)


def test_adds_one_tag_per_transcript_format_to_the_matching_item(tmp_path):
    feed = write_feed(tmp_path)
    with capture_logs() as logs:
        run(*make_job(tmp_path, feed))
    text = feed.read_text(encoding="utf-8")
    assert transcripts(text) == [
        {"url": BASE + "ep%2042.en.transcript.json", "type": "application/json", "language": "en"},
        {"url": BASE + "ep%2042.en.vtt", "type": "text/vtt", "language": "en", "rel": "captions"},
        {"url": BASE + "ep%2042.en.srt", "type": "application/x-subrip", "language": "en", "rel": "captions"},
        {"url": BASE + "ep%2042.en.txt", "type": "text/plain", "language": "en"},
    ]
    assert transcripts(text, "ep41.mp3") == []
    assert ITEM_41 in text
    assert [e["event"] for e in logs] == ["feed_updated"]


def test_everything_else_in_the_feed_is_kept_byte_for_byte(tmp_path):
    feed = write_feed(tmp_path)
    run(*make_job(tmp_path, feed))
    text = feed.read_text(encoding="utf-8")
    assert text.count("xmlns:podcast=") == 1
    assert text.count(NS) == 1
    assert f'\n     xmlns:podcast="{NS}">' in text  # on <rss>, one attribute a line like the others
    assert '<enclosure url="https://cdn.example/ep%2042.mp3?src=rss" length="5678" type="audio/mpeg"/>\n' in text
    assert '      <podcast:transcript url="https://cdn.example/transcripts/ep%2042.en.vtt"' in text
    # Take away the added lines and the declaration: what is left is the original file.
    added = re.compile(r"\n\s*<podcast:transcript [^>]*/>")
    assert added.sub("", text).replace(f'\n     xmlns:podcast="{NS}"', "") == FEED
    assert "<itunes:duration>00:41:07</itunes:duration>" in text
    assert "<![CDATA[<p>Show notes with <b>HTML</b> & more.</p>]]>" in text
    assert "<!-- episodes newest first; edited by hand -->" in text


def test_a_second_run_changes_nothing(tmp_path):
    feed = write_feed(tmp_path)
    job, result = make_job(tmp_path, feed)
    run(job, result)
    first = feed.read_bytes()
    run(job, result)
    assert feed.read_bytes() == first


def test_a_rerun_replaces_a_tag_with_the_same_url(tmp_path):
    feed = write_feed(tmp_path)
    job, result = make_job(tmp_path, feed, outputs=("ep 42.en.vtt",))
    run(job, result)
    job, result = make_job(tmp_path, feed, outputs=("ep 42.en.vtt", "ep 42.en.srt"), language="de")
    run(job, result)
    assert [(t["url"].rsplit("/", 1)[1], t["language"]) for t in transcripts(feed.read_text(encoding="utf-8"))] == [
        ("ep%2042.en.vtt", "de"),
        ("ep%2042.en.srt", "de"),
    ]


def test_reuses_the_prefix_a_feed_already_declares(tmp_path):
    feed = write_feed(tmp_path, FEED.replace("<rss version", f'<rss xmlns:pc="{NS}" version'))
    run(*make_job(tmp_path, feed))
    text = feed.read_text(encoding="utf-8")
    assert text.count(NS) == 1
    assert "xmlns:podcast" not in text
    assert "<pc:transcript " in text
    assert len(transcripts(text)) == 4


def test_reuses_the_legacy_namespace_url_and_picks_a_free_prefix_otherwise(tmp_path):
    legacy = "https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md"
    feed = write_feed(tmp_path, FEED.replace("<rss version", f'<rss xmlns:podcast="{legacy}" version'))
    run(*make_job(tmp_path, feed))
    text = feed.read_text(encoding="utf-8")
    assert text.count("xmlns:podcast") == 1
    assert text.count("<podcast:transcript ") == 4

    other = write_feed(tmp_path, FEED.replace("<rss version", '<rss xmlns:podcast="urn:other" version'))
    run(*make_job(tmp_path, other))
    text = other.read_text(encoding="utf-8")
    assert f'xmlns:podcast2="{NS}"' in text
    assert len(transcripts(text)) == 4


def test_falls_back_to_guid_or_link_naming_the_file(tmp_path):
    item = "<item><title>Bonus</title><link>https://example.org/media/bonus%20ep.m4a</link></item>"
    feed = write_feed(tmp_path, FEED.replace("  </channel>", f"    {item}\n  </channel>"))
    run(*make_job(tmp_path, feed, media="bonus ep.m4a", outputs=("bonus ep.en.srt",)))
    text = feed.read_text(encoding="utf-8")
    assert (
        "<link>https://example.org/media/bonus%20ep.m4a</link><podcast:transcript "
        f'url="{BASE}bonus%20ep.en.srt" type="application/x-subrip" language="en" rel="captions" /></item>'
    ) in text


def test_other_encodings_are_rewritten_as_utf8(tmp_path):
    latin = FEED.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').replace("Home Server Hour", "Café Hour")
    feed = write_feed(tmp_path, latin, encoding="iso-8859-1")
    run(*make_job(tmp_path, feed))
    text = feed.read_bytes().decode("utf-8")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<rss')
    assert "<title>Café Hour</title>" in text
    assert len(transcripts(text)) == 4


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (FEED.replace("</channel>", ""), "not well-formed XML"),
        ('<?xml version="1.0"?>\n<rss version="2.0"><!-- empty --></rss>\n', "no <channel>"),
        ("<feed xmlns='http://www.w3.org/2005/Atom'/>", "not <rss>"),
        (FEED.replace("ep%2042.mp3", "ep43.mp3").replace("show-ep42", "show-ep43"), "no <item>"),
    ],
)
def test_a_feed_that_cannot_be_updated_is_left_untouched(tmp_path, text, reason):
    feed = write_feed(tmp_path, text)
    before = feed.read_bytes()
    job, result = make_job(tmp_path, feed)
    with capture_logs() as logs:
        run(job, result)
    assert feed.read_bytes() == before
    assert [(e["event"], e["log_level"], e["feed"], e["file"]) for e in logs] == [
        ("feed_not_updated", "warning", str(feed), "ep 42.mp3")
    ]
    assert reason in logs[0]["reason"]


def test_only_plain_json_among_the_outputs_is_reported(tmp_path):
    feed = write_feed(tmp_path)
    with capture_logs() as logs:
        run(*make_job(tmp_path, feed, outputs=("ep 42.en.json",)))
    assert feed.read_text(encoding="utf-8") == FEED
    assert logs[0]["event"] == "feed_not_updated"
    assert "no Podcasting 2.0 transcript" in logs[0]["reason"]


@pytest.mark.parametrize("status", ["failed", "skipped", "cancelled"])
def test_a_job_that_did_not_finish_done_changes_nothing(tmp_path, status):
    feed = write_feed(tmp_path)
    with capture_logs() as logs:
        run(*make_job(tmp_path, feed, status=status))
    assert feed.read_text(encoding="utf-8") == FEED
    assert logs == []


def test_no_feed_configured_does_nothing(tmp_path):
    job, result = make_job(tmp_path, None)
    with capture_logs() as logs:
        run(job, result)
    assert logs == []
    assert not list(tmp_path.glob("*.xml"))


def test_the_write_is_atomic_and_leaves_no_temporary_files(tmp_path):
    feed = write_feed(tmp_path)
    feed.chmod(0o640)
    run(*make_job(tmp_path, feed))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["feed.xml", "ep 42.mp3", *OUTPUTS])
    assert feed.stat().st_mode & 0o777 == 0o640


def test_two_jobs_finishing_at_once_both_update_the_feed(tmp_path, monkeypatch):
    feed = write_feed(tmp_path)
    jobs = [make_job(tmp_path, feed), make_job(tmp_path, feed, media="ep41.mp3")]
    read = feedxml.read

    def slow_read(path: Path) -> bytes:
        data = read(path)
        time.sleep(0.2)  # both jobs would read the same old feed without the lock
        return data

    monkeypatch.setattr(feedxml, "read", slow_read)
    threads = [threading.Thread(target=run, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    text = feed.read_text(encoding="utf-8")
    assert len(transcripts(text)) == 4
    assert len(transcripts(text, "ep41.mp3")) == 4
