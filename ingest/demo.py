"""``ingest demo``: speak a few sentences into a video file and transcribe it.

The clip is made with espeak-ng and ffmpeg, so a new machine needs no media to see
ingest work end to end.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

from ingest.errors import ConfigError

DEMO_TEXT = (
    "Welcome to the demo. This short clip was spoken by a computer. "
    "The program found the audio track, cleaned it, and turned the speech into subtitles. "
    "You can open the subtitle file in any video player."
)
DEMO_NAME = "ingest demo.mkv"


def make_clip(folder: Path) -> Path:
    """An MKV with a small video stream and the spoken demo text as English audio."""
    for tool in ("espeak-ng", "ffmpeg"):
        if shutil.which(tool) is None:
            raise ConfigError(f"the demo needs {tool}: apt-get install {tool}")
    folder.mkdir(parents=True, exist_ok=True)
    wav = folder / ".demo-speech.wav"
    clip = folder / DEMO_NAME
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(wav), DEMO_TEXT], check=True)
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x180:rate=10",
            "-i",
            str(wav),
            "-shortest",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-metadata:s:a:0",
            "language=eng",
            str(clip),
        ],
        check=True,
    )
    wav.unlink()
    return clip


def command(args: argparse.Namespace) -> int:
    from ingest.cli import cmd_process, parser

    clip = make_clip(args.dir.resolve())
    print(f"demo media: {clip}")
    argv = ["process", str(clip), "--format", "srt,vtt,txt,json", "--overwrite"]
    process_args = parser().parse_args(argv)
    for name in ("config", "env_file", "log_level", "log_format"):
        setattr(process_args, name, getattr(args, name))
    status = cmd_process(process_args)
    srt = sorted(clip.parent.glob(f"{clip.stem}.*.srt"))
    if status == 0 and srt:
        print(f"\n--- {srt[0]} ---\n{srt[0].read_text(encoding='utf-8')}")
    return status
