"""``ingest demo``: the daemon in the foreground, watching a demo folder.

It speaks a few sentences into a video file (espeak-ng + ffmpeg, so a new machine
needs no media), drops it into the watched folder and shows the sidecars appear.
On a terminal it keeps watching until Ctrl-C; otherwise it stops after the demo file.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.errors import ConfigError

if TYPE_CHECKING:
    from ingest.daemon.service import Daemon
    from ingest.ledger.sqlite import Entry

DEMO_TEXT = (
    "Welcome to the demo. This short clip was spoken by a computer. "
    "The program found the audio track, cleaned it, and turned the speech into subtitles. "
    "You can open the subtitle file in any video player."
)
DEMO_NAME = "ingest demo.mkv"
WAIT_SECONDS = 300


def make_clip(folder: Path) -> Path:
    """An MKV with a small video stream and the spoken demo text as English audio."""
    for tool in ("espeak-ng", "ffmpeg"):
        if shutil.which(tool) is None:
            raise ConfigError(f"the demo needs {tool}: apt-get install {tool}")
    folder.mkdir(parents=True, exist_ok=True)
    wav = folder / ".demo-speech.wav"
    clip = folder / DEMO_NAME
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(wav), DEMO_TEXT], check=True)
    video = ["-f", "lavfi", "-i", "testsrc=size=320x180:rate=10"]
    codecs = ["-shortest", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"]
    tags = ["-metadata:s:a:0", "language=eng"]
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", *video, "-i", str(wav), *codecs, *tags, str(clip)], check=True
    )
    wav.unlink()
    return clip


def command(args: argparse.Namespace) -> int:
    from ingest.commands.cli import boot
    from ingest.daemon.service import Daemon

    root = args.dir.resolve()
    inbox, state = root / "inbox", root / "state"
    shutil.rmtree(state, ignore_errors=True)  # a re-run starts clean: no ledger row of an earlier clip
    for old in inbox.glob(f"{Path(DEMO_NAME).stem}.*"):
        old.unlink()
    inbox.mkdir(parents=True, exist_ok=True)
    overrides = {
        "watches": [{"path": str(inbox), "settle_seconds": 1, "formats": ["srt", "vtt", "txt", "json"]}],
        "daemon": {"state_dir": str(state)},
    }
    conf, host = boot(args, overrides)
    with host.serving(conf, command="run"):
        service = Daemon(conf, host)
        service.install_signals()
        service.start()
        try:
            return _show(service, make_clip(root), inbox)
        finally:
            service.stop()


def _show(service: Daemon, clip: Path, inbox: Path) -> int:
    """Drop the clip into the inbox, wait for its sidecars, print them; stay on a terminal."""
    dropped = Path(shutil.move(clip, inbox / clip.name))
    print(f"demo: dropped {dropped} into the watched folder; waiting for it to be transcribed...")
    entry = _wait(service, dropped)
    if entry is None or entry.state != "done":
        print(f"demo: failed: {entry.last_error if entry else 'not picked up'}", file=sys.stderr)
        return 1
    srt = next(p for p in entry.outputs if p.suffix == ".srt")
    print("demo: wrote " + ", ".join(str(p) for p in entry.outputs))
    print(f"\n--- {srt} ---\n{srt.read_text(encoding='utf-8')}")
    if sys.stdin.isatty():
        print(f"demo: still watching {inbox}: drop more media there; Ctrl-C stops.")
        service.serve()
    return 0


def _wait(service: Daemon, path: Path) -> Entry | None:
    ledger = service.shared.ledger
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        entry = ledger.get(path)
        if entry is not None and entry.state in ("done", "failed", "skipped"):
            return entry
        time.sleep(0.2)
    return ledger.get(path)
