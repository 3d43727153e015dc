"""Extracting and cleaning audio with ffmpeg: 16 kHz mono float32, spooled to a temporary
file and memory-mapped.

ffmpeg writes straight into a file in tempfile's folder ($TMPDIR, else /tmp), already
unlinked, and ``Audio.samples`` is a read-only ``np.memmap`` of it: decoded audio (230 MB
an hour) is page cache the kernel can write back and drop, not anonymous memory, and the
file's blocks are freed when the last view of the mapping is dropped (nothing is left
behind even after ``kill -9``). Code that needs a writable array copies the slice it needs
(``ingest.windows``, ``ingest.vad``). A $TMPDIR on tmpfs holds the samples in memory again.

The cleaning chain is: centre channel for surround layouts (dialogue lives there, on by
default), then, each on request: band-limit (high-pass rumble, low-pass hiss), denoise,
loudness normalisation (speechnorm or EBU R128 loudnorm). Only the centre channel
measurably helped Whisper (BENCHMARKS.md, "Quality on hard audio"); the rest are off by
default because on clean speech they cost words.
"""

from __future__ import annotations

import os
import subprocess
import tempfile

import ffmpeg
import numpy as np
import structlog

from ingest.errors import MediaError
from ingest.media.probe import ffmpeg_message
from ingest.models import Audio, AudioTrack, MediaFile
from ingest.settings import AudioSettings

log = structlog.get_logger(__name__)

SAMPLE_RATE = 16_000
# Layouts that carry a front-centre (FC) channel.
CENTRE_LAYOUTS = frozenset(
    {
        "3.0",
        "3.1",
        "4.0",
        "4.1",
        "5.0",
        "5.0(side)",
        "5.1",
        "5.1(side)",
        "6.0",
        "6.1",
        "7.0",
        "7.1",
        "7.1(wide)",
        "7.1(wide-side)",
    }
)
_INPUT = "ingest-input"  # where the media's path goes in the compiled command
# A file whose decoded audio falls this far short of its probed length is damaged.
TRUNCATION_TOLERANCE = 0.9
PREMATURE_END = b"File ended prematurely"  # what ffmpeg's demuxers print on a cut-off file
NO_SPACE = b"No space left on device"  # what ffmpeg says when the spool's folder is full


def uses_centre(track: AudioTrack, settings: AudioSettings) -> bool:
    return settings.centre_channel and track.channels >= 3 and track.channel_layout in CENTRE_LAYOUTS


def command(media: MediaFile, track: AudioTrack, settings: AudioSettings) -> list[str]:
    """The ffmpeg command line that decodes and cleans one track to stdout.

    The graph is built around a stand-in name and the real one put in the finished
    argument list: ffmpeg-python hashes its nodes as UTF-8, which a name that is not
    UTF-8 cannot be, while ``subprocess`` hands ffmpeg the name's own bytes.
    """
    stream = ffmpeg.input(_INPUT)[str(track.index)]
    if uses_centre(track, settings):
        stream = stream.filter("channelmap", map="FC", channel_layout="mono")
    # Down to 16 kHz mono first: every later filter then touches a fraction of the samples.
    stream = stream.filter("aformat", sample_fmts="flt", sample_rates=SAMPLE_RATE, channel_layouts="mono")
    if settings.highpass_hz:
        stream = stream.filter("highpass", f=settings.highpass_hz)
    if settings.lowpass_hz:
        stream = stream.filter("lowpass", f=settings.lowpass_hz)
    if settings.denoise:
        stream = stream.filter("afftdn", nf=-25)
    if settings.loudness == "speechnorm":  # cheap, made for speech: lifts quiet talkers
        stream = stream.filter("speechnorm", e=6.25, r=0.00001, l=1)
    elif settings.loudness == "loudnorm":  # EBU R128; oversamples to 192 kHz, so ~5x slower
        stream = stream.filter("loudnorm", I=-16, TP=-1.5, LRA=11)
    out = stream.output("pipe:", format="f32le", acodec="pcm_f32le", ac=1, ar=SAMPLE_RATE)
    args = out.global_args("-nostdin", "-hide_banner", "-v", "error").compile()
    return [str(media.path.absolute()) if arg == _INPUT else arg for arg in args]


def check_complete(media: MediaFile, track: AudioTrack, decoded: float, stderr: bytes) -> None:
    """Refuse a file that ends early: a partial transcript is worse than a clear failure.

    With a duration in the header, decoding well short of it says so. A streamed Matroska
    file (a recording or a download that stopped) has none; ffmpeg then says so itself.
    """
    expected = track.duration or media.duration
    if expected > 2 and decoded < TRUNCATION_TOLERANCE * expected:
        why = f"decoded {decoded:.1f} s of {expected:.1f} s ({ffmpeg_message(stderr, limit=1)})"
    elif not expected and PREMATURE_END in stderr:
        why = f"it ends early and names no duration, decoded {decoded:.1f} s (ffmpeg: {PREMATURE_END.decode()})"
    else:
        return
    raise MediaError(media.path, f"truncated or damaged: {why}", permanent=True)


def extract(media: MediaFile, track: AudioTrack, settings: AudioSettings) -> Audio:
    """Decode ``track`` of ``media``; raise ``MediaError`` with ffmpeg's own words."""
    timeout = max(settings.timeout_min_seconds, settings.timeout_per_media_second * media.duration)
    with tempfile.TemporaryFile(prefix="ingest-audio-", suffix=".f32") as spool:
        try:
            proc = subprocess.run(
                command(media, track, settings), stdout=spool, stderr=subprocess.PIPE, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise MediaError(media.path, f"ffmpeg did not finish decoding in {timeout:.0f} s") from None
        if proc.returncode != 0:
            raise MediaError(
                media.path,
                f"ffmpeg could not decode audio: {ffmpeg_message(proc.stderr)}",
                # Killed by a signal (memory), or the spool's disk was full: worth another try.
                permanent=proc.returncode > 0 and NO_SPACE not in proc.stderr,
            )
        count = os.fstat(spool.fileno()).st_size // np.dtype(np.float32).itemsize
        decoded = count / SAMPLE_RATE
        if decoded == 0:
            raise MediaError(media.path, f"no audio could be decoded: {ffmpeg_message(proc.stderr)}", permanent=True)
        check_complete(media, track, decoded, proc.stderr)
        # The mapping holds its own descriptor: the file (unnamed; unlinked at once where the
        # system cannot make it unnamed) lives as long as the array and its views, no longer.
        samples = np.memmap(spool, dtype=np.float32, mode="r", shape=(count,))
    return Audio(samples=samples, sample_rate=SAMPLE_RATE, track=track)
