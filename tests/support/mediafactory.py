"""Real test media, made at test time with espeak-ng and ffmpeg.

Only encoders every ffmpeg build has (mpeg4, aac, flac) are used, so the media look
the same on a developer's machine and on CI's apt-installed ffmpeg.
"""

from __future__ import annotations

import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16_000
# Plain everyday sentences: small Whisper models hear espeak-ng say these nearly word-perfect.
ENGLISH = "Thank you for coming today. We will start the meeting in a few minutes."
GERMAN = "Ich habe heute keine Zeit. Können wir uns morgen treffen?"
VIDEO = "testsrc=size=160x120:rate=5"
# Everything but the centre of a 5.1 bed: white noise plus a tone per channel,
# each louder than the speech that goes to the centre alone.
BED = (
    "0.5*(2*random(0)-1)+0.35*sin(2*PI*220*t)",  # FL
    "0.5*(2*random(1)-1)+0.35*sin(2*PI*330*t)",  # FR
    "0.6*sin(2*PI*50*t)",  # LFE
    "0.5*(2*random(2)-1)+0.35*sin(2*PI*440*t)",  # BL
    "0.5*(2*random(3)-1)+0.35*sin(2*PI*550*t)",  # BR
)


@dataclass(frozen=True)
class Track:
    """One audio track to mux: the speech and the language tag a container stores."""

    wav: Path
    language: str  # ISO 639-2/B as Matroska and MP4 store it: "eng", "ger"
    title: str | None = None


def ffmpeg(*args: str | Path) -> None:
    """Run ffmpeg quietly; a failure raises with ffmpeg's stderr attached."""
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *map(str, args)]
    subprocess.run(cmd, check=True, capture_output=True)


def wav_duration(path: Path) -> float:
    with wave.open(str(path)) as wav:
        return wav.getnframes() / wav.getframerate()


def pcm16k(path: Path) -> np.ndarray:
    """Any audio file as 16 kHz mono float32, plainly decoded (no cleaning)."""
    cmd = [
        "ffmpeg",
        "-nostdin",
        "-v",
        "error",
        "-i",
        str(path),
        "-f",
        "f32le",
        "-ac",
        "1",
        "-ar",
        str(SAMPLE_RATE),
        "pipe:",
    ]
    proc = subprocess.run(cmd, check=True, capture_output=True)
    return np.frombuffer(proc.stdout, dtype=np.float32)


def speech_wav(path: Path, text: str, voice: str = "en", speed: int = 150) -> Path:
    """Speak ``text`` with espeak-ng into a 22.05 kHz mono WAV."""
    cmd = ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text]
    subprocess.run(cmd, check=True, capture_output=True)
    return path


def mux(
    path: Path,
    tracks: list[Track],
    video: bool = True,
    default: int | None = 0,
    title: str = "ingest test media",
    faststart: bool = False,
) -> Path:
    """An MKV or MP4 (by suffix): tiny video first, then one AAC track per ``Track``.

    ``default`` is the audio track (0-based) with the default disposition; ``None``
    leaves every track without it. Tracks are padded to the longest speech.
    ``faststart`` puts an MP4's index (moov) first, as files made for streaming have it.
    """
    length = max(wav_duration(t.wav) for t in tracks) + 0.3
    args: list[str | Path] = []
    for track in tracks:
        args += ["-i", track.wav]
    graph = ";".join(f"[{i}:a]apad=whole_dur={length:.3f}[a{i}]" for i in range(len(tracks)))
    if video:
        args += ["-f", "lavfi", "-i", f"{VIDEO}:duration={length:.3f}"]
        args += ["-map", f"{len(tracks)}:v", "-c:v", "mpeg4"]
    args += ["-filter_complex", graph, "-c:a", "aac", "-metadata", f"title={title}"]
    for i, track in enumerate(tracks):
        args += [
            "-map",
            f"[a{i}]",
            f"-metadata:s:a:{i}",
            f"language={track.language}",
            f"-disposition:a:{i}",
            "default" if i == default else "0",
        ]
        if track.title:
            args += [f"-metadata:s:a:{i}", f"title={track.title}"]
    if path.suffix == ".mkv":
        args += ["-default_mode", "passthrough"]  # else the muxer marks the first default
    if faststart:
        args += ["-movflags", "+faststart"]
    ffmpeg(*args, path)
    return path


def surround_51(path: Path, speech: Path, codec: str = "flac", video: bool = True) -> Path:
    """A 5.1 file with the speech only in the centre and loud noise and tones elsewhere."""
    length = wav_duration(speech) + 0.3
    exprs = "|".join(BED)
    graph = (
        f"[0:a]aresample=48000,apad=whole_dur={length:.3f}[fc];"
        f"aevalsrc=exprs='{exprs}':s=48000:d={length:.3f}[bed];"
        "[fc][bed]join=inputs=2:channel_layout=5.1:"
        "map=1.0-FL|1.1-FR|0.0-FC|1.2-LFE|1.3-BL|1.4-BR[out]"
    )
    args: list[str | Path] = ["-i", speech, "-filter_complex", graph]
    if video:
        args += ["-f", "lavfi", "-i", f"{VIDEO}:duration={length:.3f}"]
        args += ["-map", "1:v", "-c:v", "mpeg4"]
    args += ["-map", "[out]", "-c:a", codec, "-metadata:s:a:0", "language=eng"]
    ffmpeg(*args, path)
    return path


def video_without_audio(path: Path, seconds: float = 2.0) -> Path:
    ffmpeg("-f", "lavfi", "-i", f"{VIDEO}:duration={seconds}", "-c:v", "mpeg4", path)
    return path


def zero_byte(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def text_as_mkv(path: Path) -> Path:
    """A text file wearing a media file's name, as a mis-saved download would."""
    path.write_text("This is not a Matroska file.\n" * 50, encoding="utf-8")
    return path


def truncated(source: Path, dest: Path, keep_fraction: float) -> Path:
    """The first ``keep_fraction`` of ``source``'s bytes, as an interrupted copy leaves it."""
    data = source.read_bytes()
    dest.write_bytes(data[: int(len(data) * keep_fraction)])
    return dest


# A synthetic "music" bed: a chord that changes every second, a pulsing tone and short
# noise hits on the beat, as loud as speech. Silero VAD and Whisper must not hear words in it.
MUSIC = (
    "0.2*sin(2*PI*(220+110*floor(mod(t,4)))*t)+0.15*sin(2*PI*(277+55*floor(mod(t,2)))*t)"
    "+0.1*sin(2*PI*330*t)*lt(mod(t,0.5),0.25)+0.1*(2*random(0)-1)*lt(mod(t,0.5),0.05)"
)


def music_wav(path: Path, seconds: float) -> Path:
    """``seconds`` of the synthetic music bed, 16 kHz mono."""
    ffmpeg("-f", "lavfi", "-i", f"aevalsrc='{MUSIC}':s={SAMPLE_RATE}:d={seconds}", "-c:a", "pcm_s16le", path)
    return path


def noise_wav(path: Path, seconds: float, amplitude: float = 0.1) -> Path:
    """``seconds`` of pink noise (hiss, wind, a crowd far off), 16 kHz mono."""
    source = f"anoisesrc=color=pink:amplitude={amplitude}:sample_rate={SAMPLE_RATE}:duration={seconds}"
    ffmpeg("-f", "lavfi", "-i", source, "-c:a", "pcm_s16le", path)
    return path


def silence_wav(path: Path, seconds: float) -> Path:
    ffmpeg("-f", "lavfi", "-i", f"anullsrc=r={SAMPLE_RATE}:cl=mono", "-t", str(seconds), "-c:a", "pcm_s16le", path)
    return path


def joined(path: Path, parts: list[Path]) -> Path:
    """``parts`` one after another (sox), each made 16 kHz mono first."""
    mono = []
    for n, part in enumerate(parts):
        mono.append(path.with_name(f"{path.stem}.part{n}.wav"))
        ffmpeg("-i", part, "-ac", "1", "-ar", str(SAMPLE_RATE), "-c:a", "pcm_s16le", mono[-1])
    subprocess.run(["sox", *map(str, mono), str(path)], check=True, capture_output=True)
    for part in mono:
        part.unlink()
    return path
