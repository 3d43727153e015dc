"""Subtitle profiles: the podcast profile's line limits for feeds, through the writers' hooks."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from ingest_plugins import srt, vtt

from ingest.models import Transcript
from ingest.settings import CueSettings, Settings
from ingest.subtitles import cues, profiles, standards
from ingest.testing import fresh_host, make_job, make_transcript

TALK = (
    "Welcome back to the show, where we talk about home servers every single week.",
    "Today my guest explains how she moved a whole family photo library onto a small NAS.",
    "It took a weekend, two broken drives and a lot more patience than she expected to need.",
)


def built(settings: CueSettings) -> Transcript:
    talk = make_transcript(*TALK, word_seconds=0.4)
    return replace(talk, cues=cues.build_cues(talk.words, settings, talk.duration))


def test_podcast_profile_narrows_srt_to_32_and_vtt_to_65_characters():
    wide = CueSettings(max_line_chars=80, max_lines=3)
    feed = make_job(Path("/p/ep1.mp3"), feed=Path("/p/feed.xml"))
    plain = make_job(Path("/p/ep1.mp3"))
    srt_limits = profiles.limits("srt", "auto", feed, wide)
    assert (srt_limits.max_line_chars, srt_limits.max_lines) == (32, 2)
    assert profiles.limits("vtt", "auto", feed, wide).max_line_chars == 65
    assert profiles.limits("srt", "auto", plain, wide) == wide  # no feed: [cues] as configured
    assert profiles.limits("srt", "podcast", plain, wide).max_line_chars == 32
    assert profiles.limits("srt", "broadcast", feed, wide) == wide
    assert profiles.limits("json", "podcast", feed, wide) == wide
    narrow = CueSettings(max_line_chars=30, max_lines=1)
    assert profiles.limits("srt", "podcast", feed, narrow) == narrow  # only ever narrower


def test_cues_are_built_again_only_when_the_profile_narrows_them():
    t = built(CueSettings())
    assert profiles.cues(t, CueSettings(), CueSettings()) is t.cues
    narrow = CueSettings(max_line_chars=32)
    again = profiles.cues(t, CueSettings(), narrow)
    assert " ".join(c.text for c in again) == " ".join(c.text for c in t.cues)
    assert standards.violations(again, narrow, t.duration) == []


@pytest.mark.parametrize(("fmt", "module", "limit"), [("srt", srt, 32), ("vtt", vtt, 65)])
def test_a_feeds_subtitles_keep_the_podcast_line_lengths(tmp_path, monkeypatch, fmt, module, limit):
    """A watch with a feed serves its SRT and VTT as <podcast:transcript> captions."""
    monkeypatch.setattr(module, "_limits", module._limits)  # restored after the test
    monkeypatch.setattr(module, "_settings", module._settings)
    conf = Settings(cues=CueSettings(max_line_chars=80))
    t = built(conf.cues)
    assert max(len(line) for c in t.cues for line in c.lines) > limit  # the pipeline's cues are wider
    host = fresh_host(module)
    lengths = {}
    for name, feed in (("feed", tmp_path / "feed.xml"), ("plain", None)):
        job = make_job(tmp_path / f"{name}.mp3", formats=(fmt,), feed=feed)
        with host.serving(conf):
            [[path]] = host.hook.ingest_write_outputs(job=job, transcript=t)
        text = path.read_text(encoding="utf-8")
        lengths[name] = max(len(ln) for ln in text.splitlines() if ln and "-->" not in ln and not ln.isdigit())
    assert lengths["feed"] <= limit < lengths["plain"]
