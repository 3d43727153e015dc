"""The variants the issue names, built from one speech recording into a folder.

Each variant knows its reference text and where its non-speech stretches lie, so the
benchmark can count words written over them. Mixes are set at a measured SNR: the
power of the speech over its active frames against the power of the bed over the
same frames. The speech exactly as it sits in a mix is kept as a stem for checking.
"""

from __future__ import annotations

import subprocess
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.quality import sounds
from bench.quality.sounds import RATE, Speech

FRAME = RATE // 50  # 20 ms
ACTIVE_BELOW_PEAK_DB = 20.0  # a frame is speech when within 20 dB of the loud frames
SNRS = (20, 10, 5)
SURROUND_SNR = 6.0  # music in each surround channel, dB under the centre's speech
TAKE_STEP_DB = 0.1  # take k of a file is the whole file k x this quieter (run.take_gain)
FLOOR_DBFS = -60.0  # the "silence" of an analogue transfer
PEAK = 0.89  # -1 dBFS
BEDS: dict[str, Callable[[], np.ndarray]] = {
    "music": sounds.music_loop,
    "crowd": sounds.crowd_loop,
    "babble": sounds.babble_loop,
    "reversed voice": sounds.reversed_loop,
    "foreign-sounding": sounds.foreign_loop,
    "singing": sounds.singing_loop,
}
VOICE_LIKE = ("babble", "reversed voice", "foreign-sounding", "singing")  # the beds of issue 16
INTRO_BABBLE, INTRO_MUSIC = 12.0, 8.0  # seconds


@dataclass(frozen=True)
class Variant:
    """One file to transcribe, what it says, and where nothing is said."""

    name: str
    source: str
    path: Path
    reference: str
    nonspeech: tuple[tuple[float, float], ...] = ()
    noisy: bool = False
    stem: Path | None = None  # the speech as it sits in the file (mono), for checks

    @property
    def label(self) -> str:
        return f"{self.source} · {self.name}"


def frame_power(x: np.ndarray) -> np.ndarray:
    n = len(x) // FRAME
    return np.mean(x[: n * FRAME].astype(np.float64).reshape(n, FRAME) ** 2, axis=1)


def active(speech: np.ndarray) -> np.ndarray:
    """Frames where someone speaks: within 20 dB of the 95th-percentile frame power."""
    p = frame_power(speech)
    return p > np.percentile(p, 95) * 10 ** (-ACTIVE_BELOW_PEAK_DB / 10)


def snr_db(speech: np.ndarray, bed: np.ndarray) -> float:
    """Speech power over its active frames against the bed's power over the same frames."""
    mask = active(speech)
    return float(10 * np.log10(frame_power(speech)[mask].mean() / frame_power(bed)[mask].mean()))


def at_snr(speech: np.ndarray, bed: np.ndarray, snr: float) -> np.ndarray:
    """``bed`` scaled so that ``speech`` sits ``snr`` dB above it."""
    return (bed * 10 ** ((snr_db(speech, bed) - snr) / 20)).astype(np.float32)


def write_wav(path: Path, samples: np.ndarray) -> Path:
    """16-bit PCM WAV; ``samples`` is (n,) or (n, channels) in [-1, 1]."""
    frames = samples if samples.ndim == 2 else samples[:, None]
    with wave.open(str(path), "wb") as w:
        w.setnchannels(frames.shape[1])
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(np.round(np.clip(frames, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


class Builder:
    """Builds every variant of one speech recording into ``folder``."""

    def __init__(
        self,
        speech: Speech,
        folder: Path,
        pad_seconds: float = 30.0,
        silence_seconds: float = 60.0,
        gain_db: float = 0.0,
    ):
        self.speech, self.folder = speech, folder
        self.pad, self.gap = pad_seconds, silence_seconds
        self.gain = 10 ** (gain_db / 20)  # a take: the whole file a hair quieter (see run.take_gain)
        folder.mkdir(parents=True, exist_ok=True)

    def file(self, name: str, ext: str = "wav") -> Path:
        slug = "-".join(name.replace(".", "").replace("+", "").split())
        return self.folder / f"{self.speech.name}-{slug}.{ext}"

    def write(self, path: Path, samples: np.ndarray) -> Path:
        return write_wav(path, samples * self.gain)

    def variant(self, name: str, path: Path, **kw: object) -> Variant:
        return Variant(name, self.speech.name, path, self.speech.reference, **kw)

    def clean(self) -> Variant:
        return self.variant("clean", self.write(self.file("clean"), self.level(self.speech.samples)))

    @staticmethod
    def level(samples: np.ndarray) -> np.ndarray:
        """Peak at most -1 dBFS: a file never clips."""
        return samples * min(1.0, PEAK / float(np.max(np.abs(samples))))

    def mixed(self, kind: str, snr: float) -> Variant:
        """Speech over music or pink noise at ``snr`` dB, peak at -1 dBFS."""
        s, seconds = self.speech.samples, self.speech.seconds
        bed = sounds.loop(sounds.music_loop(), seconds) if kind == "music" else sounds.pink(seconds)
        bed = at_snr(s, bed[: len(s)], snr)
        mix = s + bed
        k = min(1.0, PEAK / float(np.max(np.abs(mix))))
        name = f"{kind} {snr:g} dB"
        stem = self.write(self.file(name, "speech.wav"), k * s)
        return self.variant(name, self.write(self.file(name), k * mix), noisy=True, stem=stem)

    def telephone(self) -> Variant:
        """A phone line: 300-3400 Hz, 8 kHz, mu-law."""
        clean = self.clean().path
        band = "highpass=f=300,highpass=f=300,lowpass=f=3400,lowpass=f=3400"
        path = self.file("telephone")
        ffmpeg("-i", str(clean), "-af", band, "-ar", "8000", "-c:a", "pcm_mulaw", str(path))
        return self.variant("telephone", path, noisy=True)

    def surround(self) -> Variant:
        """5.1 AAC in Matroska: speech only in FC, music in FL/FR and the surrounds, its bass in LFE."""
        s, seconds = self.speech.samples, self.speech.seconds
        music = sounds.music_loop()
        beds = [at_snr(s, sounds.loop(music, seconds, offset)[: len(s)], SURROUND_SNR) for offset in (0, 1, 2, 3)]
        lfe = sounds.effects(beds[0], "lowpass", "120")[: len(s)]
        lfe = np.pad(lfe, (0, len(s) - len(lfe)))
        channels = np.stack([beds[0], beds[1], s, lfe, beds[2], beds[3]], axis=1)
        k = min(1.0, PEAK / float(np.max(np.abs(channels))))
        wav = self.write(self.file("5.1 centre", "pcm.wav"), k * channels)
        stem = self.write(self.file("5.1 centre", "speech.wav"), k * s)
        path = self.file("5.1 centre", "mkv")
        # A plain WAV carries no layout: name it on input, so nothing is remixed.
        ffmpeg("-channel_layout", "5.1", "-i", str(wav), "-c:a", "aac", "-b:a", "384k", str(path))
        return self.variant("5.1 centre", path, noisy=True, stem=stem)

    def padded(self, name: str, before: np.ndarray, after: np.ndarray, under: np.ndarray | None = None) -> Variant:
        """Speech with stretches of ``before`` and ``after`` around it (and ``under`` it all)."""
        s = self.speech.samples
        body = np.concatenate([before, s, after])
        if under is not None:
            body = body + under[: len(body)]
        start, end = len(before) / RATE, (len(before) + len(s)) / RATE
        spans = ((0.0, start), (end, len(body) / RATE))
        return self.variant(name, self.write(self.file(name), self.level(body)), nonspeech=spans)

    def silence(self, floor: bool = False) -> Variant:
        gap = np.zeros(int(self.gap * RATE), dtype=np.float32)
        total = 2 * self.gap + self.speech.seconds + 1
        under = sounds.pink(total) * (10 ** (FLOOR_DBFS / 20) / 0.1) if floor else None
        name = f"silence {self.gap:g} s" + (" + noise floor" if floor else "")
        return self.padded(name, gap, gap, under)

    def at_speech_level(self, bed: np.ndarray) -> np.ndarray:
        level = np.sqrt(frame_power(self.speech.samples)[active(self.speech.samples)].mean())
        return (bed * (level / np.sqrt(np.mean(bed**2)))).astype(np.float32)

    def stretches(self, kind: str) -> Variant:
        """Stretches of one bed (``BEDS``) before and after, at the speech's level."""
        bed = self.at_speech_level(BEDS[kind]())
        fade = np.linspace(1, 0, RATE, dtype=np.float32)
        before = sounds.loop(bed, self.pad)
        after = sounds.loop(bed, self.pad, offset=3.0)
        before[-RATE:] *= fade
        after[:RATE] *= fade[::-1]
        return self.padded(f"{kind}-only {self.pad:g} s", before, after)

    def intro(self) -> Variant:
        """The layout that fooled ingest (issue 16): 12 s of babble, 8 s of music, then the speech."""
        babble = sounds.loop(self.at_speech_level(sounds.babble_loop()), INTRO_BABBLE)
        music = sounds.loop(self.at_speech_level(sounds.music_loop()), INTRO_MUSIC)
        fade = np.linspace(1, 0, RATE // 2, dtype=np.float32)
        babble[-len(fade) :] *= fade
        music[: len(fade)] *= fade[::-1]
        music[-len(fade) :] *= fade
        return self.padded("babble + music intro", np.concatenate([babble, music]), np.zeros(RATE, np.float32))

    def recipes(self) -> list[tuple[str, Callable[[], Variant]]]:
        """The issue's list, in table order."""
        mixes = [(f"{k} {snr} dB", lambda k=k, snr=snr: self.mixed(k, snr)) for k in ("music", "noise") for snr in SNRS]
        return [
            ("clean", self.clean),
            *mixes,
            ("telephone", self.telephone),
            ("5.1 centre", self.surround),
            ("silence", lambda: self.silence(False)),
            ("silence + floor", lambda: self.silence(True)),
            ("music-only", lambda: self.stretches("music")),
            ("crowd-only", lambda: self.stretches("crowd")),
            *[(f"{kind}-only", lambda kind=kind: self.stretches(kind)) for kind in VOICE_LIKE],
            ("babble + music intro", self.intro),
        ]

    def build(self) -> list[Variant]:
        return [make() for _, make in self.recipes()]
