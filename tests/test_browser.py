"""ingest's WebVTT read by a real browser: Chromium's own parser, through ``<track>``.

A page on a loopback HTTP server holds a ``<video>`` and an ``<audio>``, each with a
``<track default>`` pointing at a file the VTT writer made (with speakers, with and
without the ``Language:`` header, with ``& < >`` in the text and in the names). The
headless Chromium loads both tracks; each must load, hold every cue at its times, and
show exactly the words written: entities decoded, no tag or voice name leaking into
the text, the voice kept as the span's title.
"""

from __future__ import annotations

import functools
import html
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from ingest_plugins import vtt as vtt_writer

from ingest.models import Cue
from tests.support import browser

CUES = (
    Cue(0.0, 2.5, ("Fish & chips <3 for two,", "and a -> b > c."), "Ana Müller"),
    Cue(2.5, 5.04, ("Tom & Jerry said: <b>no</b>.",), "Tom & Jerry"),
    Cue(5.04, 7.0, ("A cue without a speaker.",), None),
    Cue(7.0, 9.5, ("{\\an8} braces and \\N stay text.",), "{\\an8}Ana <b>Bo</b> {x} & Co"),
)
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>ingest VTT</title></head><body>
<video id="video" muted><track default kind="subtitles" srclang="en" label="English" src="{vtt}"></video>
<audio id="audio"><track default kind="captions" srclang="en" label="English" src="{vtt}"></audio>
</body></html>
"""
# Waits for each track to load (or fail), then answers with what Chromium parsed.
READ_TRACKS = """
const done = arguments[arguments.length - 1];
const read = (element) => new Promise((resolve) => {
  const node = element.querySelector("track");
  const answer = () => resolve({
    element: element.id,
    state: node.readyState,
    cues: Array.from(node.track.cues || [], (cue) => {
      const shown = cue.getCueAsHTML();
      return {start: cue.startTime, end: cue.endTime, text: shown.textContent,
              voices: Array.from(shown.querySelectorAll("span[title]"), (span) => span.title)};
    }),
  });
  node.addEventListener("load", answer);
  node.addEventListener("error", answer);
  node.track.mode = "hidden";  // an <audio>'s track loads only once it is not disabled
  if (node.readyState >= 2) answer();  // 2: loaded, 3: failed
});
Promise.all(Array.from(document.querySelectorAll("video, audio"), read)).then(done);
"""


class _Quiet(SimpleHTTPRequestHandler):
    """Files of one folder, ``.vtt`` as ``text/vtt`` (what a media server sends), no log lines."""

    extensions_map: ClassVar[dict[str, str]] = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".vtt": "text/vtt; charset=utf-8",
    }

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A loopback HTTP server over a fresh folder: (its base URL, the folder)."""
    folder = tmp_path_factory.mktemp("site")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, name="test-http-server")
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", folder
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[browser.Browser]:
    with browser.chromium(tmp_path_factory.mktemp("chromium-profile")) as session:
        yield session


def expected(cue: Cue) -> dict[str, Any]:
    """What the browser should hold for ``cue``: its times, its words, its voice as written."""
    voices = [html.unescape(vtt_writer.voice(cue.speaker))] if cue.speaker else []
    return {"start": round(cue.start, 3), "end": round(cue.end, 3), "text": "\n".join(cue.lines), "voices": voices}


@pytest.mark.parametrize("language_header", [False, True], ids=["plain", "language-header"])
def test_chromium_reads_every_cue_as_written(site, chromium, language_header: bool):
    base, folder = site
    name = f"talk-{language_header}"
    (folder / f"{name}.vtt").write_text(vtt_writer.render(CUES, "en", language_header), encoding="utf-8")
    (folder / f"{name}.html").write_text(PAGE.format(vtt=f"{name}.vtt"), encoding="utf-8")
    chromium.open(f"{base}{name}.html")
    tracks = chromium.run_async(READ_TRACKS)
    assert [t["element"] for t in tracks] == ["video", "audio"]
    for track in tracks:
        assert track["state"] == 2, f"the <{track['element']}>'s track did not load (readyState {track['state']})"
        assert len(track["cues"]) == len(CUES)
        parsed = [{**cue, "start": round(cue["start"], 3), "end": round(cue["end"], 3)} for cue in track["cues"]]
        assert parsed == [expected(cue) for cue in CUES]
