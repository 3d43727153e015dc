"""Raw material for the variants, made with the real tools: speech, music, noise, a crowd.

Everything comes back as 16 kHz mono float32 so the variants can be mixed at a
measured level. Speech has an exact reference: the JFK clip with its published text,
and an espeak-ng dialogue of plain everyday sentences (two voices, natural pauses).
"""

from __future__ import annotations

import functools
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 16_000
SHARED = Path(__file__).resolve().parents[3] / "shared" / "media"
JFK_TEXT = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."
# Two voices a listener (and a speaker model) tells apart; see shared/MODELS.md.
VOICES = ("en-gb-x-rp+f4", "en+m7")
DIALOGUE = (
    "Good morning, I hope you slept well and the house was warm enough last night.",
    "It was fine, thank you, although the neighbours were playing music until quite late.",
    "I am going to the market after breakfast to buy bread, cheese and some fresh fruit.",
    "Could you also bring back a bag of coffee and a bottle of milk for the weekend?",
    "Of course, and I will stop at the library to return the books we borrowed last month.",
    "Remember that the train station is closed today, so you should take the bus instead.",
    "Thank you for telling me, I would have waited there for a very long time.",
    "When you come home we can cook dinner together and call your sister in the evening.",
    "That sounds like a lovely plan, and maybe we can walk the dog before it gets dark.",
    "The weather report said it would rain later, so please take an umbrella with you.",
)
# Other text for the crowd: reversed and low-passed it is murmur, not words.
CROWD_TEXT = (
    "The committee will meet again on Thursday to discuss the budget for the new school building.",
    "My brother bought a small boat last summer and now he spends every weekend on the lake.",
    "Please make sure that all the windows are closed before you leave the office tonight.",
    "We watched an old film about a detective who solves a mystery in a quiet seaside town.",
    "The bakery on the corner sells the best apple pie I have ever tasted in this city.",
    "After the concert everyone walked down to the river to watch the boats go past.",
)
CROWD_VOICES = ("en-us+m3", "en+f2", "en-gb+m1", "en-029+f3", "en-us+m5", "en+f4")
# Voice-like non-speech the crowd above is too tame for (issue 16): babble in the open (voices
# forward, full band, as a room sounds), one voice reversed, English read by other languages'
# voices (foreign-sounding), and sung vowels.
BABBLE_VOICES = ("en-us+m3", "en+f2", "en-gb+m1", "en-029+f3", "en-us+m5", "en+f4", "en-gb-scotland+m2", "en+f5")
FOREIGN_VOICES = ("hu", "pl", "fi", "tr")
SUNG = (("a", 60), ("o", 67), ("e", 72), ("u", 64), ("i", 76), ("a", 69))  # vowel, pitch (0-99)
PAUSE_SECONDS = 0.8
CHORDS = (("C4", "E4", "G4", "C3"), ("A3", "C4", "E4", "A2"), ("F3", "A3", "C4", "F2"), ("G3", "B3", "D4", "G2"))


@dataclass(frozen=True)
class Speech:
    """A speech recording with its exact words."""

    name: str
    samples: np.ndarray
    reference: str

    @property
    def seconds(self) -> float:
        return len(self.samples) / RATE


def sox(inputs: list[str], effects: list[str] = (), stdin: bytes | None = None) -> np.ndarray:
    """Run sox with ``inputs`` and ``effects``; the result as 16 kHz mono float32."""
    out = ["-t", "raw", "-e", "floating-point", "-b", "32", "-r", str(RATE), "-c", "1", "-"]
    cmd = ["sox", "-R", "-V1", *inputs, *out, *effects]
    proc = subprocess.run(cmd, input=stdin, capture_output=True, check=True)
    return np.frombuffer(proc.stdout, dtype=np.float32).copy()


def decode(path: Path) -> np.ndarray:
    """Any media file as 16 kHz mono float32, through ffmpeg."""
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-ac", "1", "-ar", str(RATE), "-f", "f32le", "-"]
    return np.frombuffer(subprocess.run(cmd, capture_output=True, check=True).stdout, dtype=np.float32).copy()


def espeak(text: str, voice: str, speed: int = 150) -> np.ndarray:
    cmd = ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text]
    return sox(["-t", "wav", "-"], ["vol", "0.9"], stdin=subprocess.run(cmd, capture_output=True, check=True).stdout)


def effects(samples: np.ndarray, *fx: str) -> np.ndarray:
    """``samples`` (16 kHz mono float32) through sox effects."""
    return sox(["-t", "f32", "-r", str(RATE), "-c", "1", "-"], list(fx), samples.astype(np.float32).tobytes())


def _frozen(samples: np.ndarray) -> np.ndarray:
    """Cached raw material is shared by every take: nobody may change it in place."""
    samples.setflags(write=False)
    return samples


@functools.cache
def jfk() -> Speech:
    return Speech("jfk", _frozen(decode(SHARED / "jfk.flac")), JFK_TEXT)


@functools.cache
def dialogue(sentences: tuple[str, ...] = DIALOGUE) -> Speech:
    """Two voices taking turns, a pause between sentences."""
    pause = np.zeros(int(PAUSE_SECONDS * RATE), dtype=np.float32)
    parts: list[np.ndarray] = []
    for n, sentence in enumerate(sentences):
        parts += [espeak(sentence, VOICES[n % 2]), pause]
    return Speech("dialogue", _frozen(np.concatenate(parts[:-1])), " ".join(sentences))


def loop(samples: np.ndarray, seconds: float, offset: float = 0.0) -> np.ndarray:
    """``samples`` repeated to ``seconds``, starting ``offset`` seconds in."""
    n = int(seconds * RATE)
    start = int(offset * RATE) % len(samples)
    reps = (start + n) // len(samples) + 1
    return np.tile(samples, reps)[start : start + n].astype(np.float32)


@functools.cache
def music_loop() -> np.ndarray:
    """Eight seconds of background music: plucked chords over a bass, a beat, tremolo, reverb."""
    bars = [
        sox(["-n", "-c", "4"], ["synth", "2", *(w for note in chord for w in ("pluck", note)), "remix", "-"])
        for chord in CHORDS
    ]
    tones = np.concatenate(bars)
    beat = sox(["-n"], ["synth", "0.05", "whitenoise", "fade", "0", "0.05", "0.04", "pad", "0", "0.2", "vol", "0.3"])
    mixed = tones + loop(beat, len(tones) / RATE)
    return _frozen(effects(mixed, "tremolo", "5", "30", "reverb", "40"))


@functools.cache
def pink(seconds: float) -> np.ndarray:
    return _frozen(sox(["-n"], ["synth", f"{seconds:.3f}", "pinknoise", "vol", "0.5"]))


@functools.cache
def crowd_loop() -> np.ndarray:
    """Overlapping voices of other text, reversed and low-passed: unintelligible murmur."""
    texts = [f"{text} {CROWD_TEXT[(n + 1) % len(CROWD_TEXT)]}" for n, text in enumerate(CROWD_TEXT)]
    voices = [espeak(text, voice, 170)[::-1] for text, voice in zip(texts, CROWD_VOICES, strict=True)]
    length = max(len(v) for v in voices)
    bed = np.zeros(length, dtype=np.float32)
    for n, voice in enumerate(voices):
        bed += np.roll(np.pad(voice, (0, length - len(voice))), n * RATE // 2)
    return _frozen(effects(bed, "lowpass", "1500", "reverb", "60"))


def _overlaid(voices: list[np.ndarray], stagger: float) -> np.ndarray:
    """Voices summed, each started ``stagger`` seconds after the one before (wrapping round)."""
    length = max(len(v) for v in voices)
    bed = np.zeros(length, dtype=np.float32)
    for n, voice in enumerate(voices):
        bed += np.roll(np.pad(voice, (0, length - len(voice))), int(n * stagger * RATE))
    return bed


@functools.cache
def babble_loop() -> np.ndarray:
    """Eight voices at once reading other text, forward and full band: a room of people."""
    texts = [" ".join(CROWD_TEXT[(n + k) % len(CROWD_TEXT)] for k in range(3)) for n in range(len(BABBLE_VOICES))]
    voices = [espeak(text, voice, 165) for text, voice in zip(texts, BABBLE_VOICES, strict=True)]
    return _frozen(effects(_overlaid(voices, 0.7), "reverb", "30"))


@functools.cache
def reversed_loop() -> np.ndarray:
    """One voice played backwards, full band: speech-like, no words."""
    return _frozen(espeak(" ".join(CROWD_TEXT), "en-us+m3", 160)[::-1].copy())


@functools.cache
def foreign_loop() -> np.ndarray:
    """English read by Hungarian, Polish, Finnish and Turkish voices in turn: foreign-sounding."""
    pause = np.zeros(RATE // 3, dtype=np.float32)
    parts = [p for n, v in enumerate(FOREIGN_VOICES) for p in (espeak(CROWD_TEXT[n], v, 160), pause)]
    return _frozen(np.concatenate(parts))


@functools.cache
def singing_loop() -> np.ndarray:
    """Held vowels at changing pitches, with vibrato and reverb: a voice singing without words."""
    notes = []
    for vowel, pitch in SUNG:
        cmd = ["espeak-ng", "-v", "en+f3", "-p", str(pitch), "-s", "80", "--stdout", vowel * 8]
        wav = subprocess.run(cmd, capture_output=True, check=True).stdout
        notes.append(sox(["-t", "wav", "-"], ["vol", "0.9", "tremolo", "6", "20"], stdin=wav))
    return _frozen(effects(np.concatenate(notes), "reverb", "50"))
