"""The sections of the settings (``[audio]``, ``[transcribe]``, ..., ``[[watches]]``, ``[daemon]``).

Each is a frozen model that refuses unknown keys; ``ingest.settings`` puts them together
into ``Settings`` and re-exports them, so ``from ingest.settings import CueSettings`` works.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_settings import NoDecode

from ingest.subtitles import languages

_DEVICE_HELP = "must be auto, cpu, cuda or cuda:N"

CsvList = Annotated[list[str], NoDecode]
DEFAULT_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def split_csv(value: Any) -> Any:
    """A list given as one string (an option, a variable): split at commas and spaces."""
    if isinstance(value, str):
        return [part.strip() for part in value.replace(",", " ").split() if part.strip()]
    return value


def split_names(value: Any) -> Any:
    """A list of names given as one string, split at commas only: "Ana Müller,Ben Smith" is
    two speakers and "New York,Jellyfin" two hotwords."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def xdg_dir(var: str, fallback: str) -> Path:
    return Path(os.environ.get(var) or Path.home() / fallback)


def _device_name(value: str) -> str:
    head, _, tail = value.partition(":")
    if (head in {"auto", "cpu"} and not tail) or (head == "cuda" and (not tail or tail.isdigit())):
        return value
    raise ValueError(_DEVICE_HELP)


def _absolute_folder(value: Path | None) -> Path | None:
    """A folder ingest writes into, absolute and without ``..``: made as given, ``a/../b``
    would leave an empty ``a`` behind (``mkdir(parents=True)`` makes each part). Relative
    to the current folder, as it always was; ``~`` is the home folder, as for watches. Only a
    path with ``..`` is resolved: a symlinked folder keeps the name a path map was written for."""
    if value is None:
        return None
    path = value.expanduser().absolute()
    return path.resolve() if ".." in path.parts else path


def _whisper_language(value: str | None) -> str | None:
    return None if value in (None, "", "auto") else languages.whisper_code(value)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AudioSettings(_Strict):
    """How audio is chosen and cleaned before the engine hears it."""

    track_languages: CsvList = Field(default_factory=list)
    centre_channel: bool = True
    # Off by default, on measurements (bench/quality, 3 takes): on noisy speech they gain
    # nothing, on clean speech they cost words; Whisper was trained on unfiltered audio.
    highpass_hz: int | None = Field(None, ge=0, le=1000)  # 0 (or None): off; 80 cuts rumble
    lowpass_hz: int | None = Field(None, ge=0, le=8000)  # 0 (or None): off; 7800 cuts hiss
    loudness: Literal["speechnorm", "loudnorm", "off"] = "off"
    denoise: bool = False
    timeout_min_seconds: float = Field(60.0, gt=0)
    timeout_per_media_second: float = Field(0.5, gt=0)

    _csv = field_validator("track_languages", mode="before")(split_csv)

    @field_validator("track_languages")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        return [languages.normalize(v) for v in value]

    @field_validator("highpass_hz", "lowpass_hz")
    @classmethod
    def _band(cls, value: int | None, info: ValidationInfo) -> int | None:
        """0 turns a filter off (TOML and env cannot say None); else it must be a sane corner."""
        assert info.field_name is not None  # always set for a field validator
        low = {"highpass_hz": 20, "lowpass_hz": 1000}[info.field_name]
        if value and value < low:
            raise ValueError(f"must be 0 (off) or at least {low} Hz")
        return value or None


class TranscribeSettings(_Strict):
    engine: str = "faster-whisper"
    model: str = "auto"
    device: str = "auto"
    compute_type: Literal[
        "auto",
        "int8",
        "int8_float16",
        "int8_float32",
        "int8_bfloat16",
        "int16",
        "float16",
        "bfloat16",
        "float32",
        "default",
    ] = "auto"
    language: str | None = None
    task: Literal["transcribe", "translate"] = "transcribe"
    initial_prompt: str | None = None
    hotwords: CsvList = Field(default_factory=list)
    beam_size: int = Field(5, ge=1, le=20)
    # Decoding temperatures, tried in order when a window's text fails Whisper's own checks
    # (compression, log-probability); above 0 the engine samples, seeded with ``seed``.
    temperatures: list[Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=lambda: list(DEFAULT_TEMPERATURES), min_length=1
    )
    seed: int = Field(0, ge=0, lt=2**31)
    cpu_threads: int = Field(0, ge=0)
    batch_size: int = Field(0, ge=0, le=256)
    idle_unload_seconds: float | None = Field(600.0, gt=0)

    _names = field_validator("hotwords", mode="before")(split_names)

    _device = field_validator("device")(_device_name)
    _language = field_validator("language")(_whisper_language)


class DiarizeSettings(_Strict):
    """Who speaks when (pyannote.audio). Off unless turned on here, per watch, or by --diarize."""

    enabled: bool = False
    model: str = "builtin"  # builtin (offline, shipped weights), a pipeline folder, or a hub id (needs INGEST_HF_TOKEN)
    device: str = "auto"
    num_speakers: int | None = Field(None, ge=1)
    min_speakers: int | None = Field(None, ge=1)
    max_speakers: int | None = Field(None, ge=1)
    speaker_names: CsvList = Field(default_factory=list)  # replace SPEAKER_00, 01, ... in order of first words

    _names = field_validator("speaker_names", mode="before")(split_names)
    _device = field_validator("device")(_device_name)


class OutputSettings(_Strict):
    formats: CsvList = Field(default_factory=lambda: ["srt"])
    output_dir: Path | None = None
    language_codes: Literal["639-1", "639-2/B"] = "639-1"
    sdh: bool = False
    forced: bool = False
    overwrite: bool = False

    _csv = field_validator("formats", mode="before")(split_csv)
    _folders = field_validator("output_dir")(_absolute_folder)


class CueSettings(_Strict):
    """Subtitle standards: defaults follow common broadcast guidelines."""

    max_line_chars: int = Field(42, ge=10, le=80)
    max_lines: int = Field(2, ge=1, le=3)
    max_cps: float = Field(20.0, gt=5)
    min_duration: float = Field(0.83, gt=0)
    max_duration: float = Field(7.0, gt=1)
    pause_split: float = Field(0.6, gt=0)


class SpeechSettings(_Strict):
    """Where speech is (Silero VAD): both engines decode only there, no cue outside it."""

    vad: bool = True  # off: the engines hear the whole file, as before
    threshold: float = Field(0.4, gt=0, lt=1)  # speech probability that starts a region (bench/quality)
    min_speech: float = Field(0.25, ge=0)  # shorter bursts (a cough, a click) are not speech
    min_silence: float = Field(2.0, ge=0)  # shorter pauses do not split a region
    pad: float = Field(0.4, ge=0)  # seconds added to each side of a region


class FilterSettings(_Strict):
    """Hallucination filters after decoding; each can be turned off, each drop is counted."""

    outside_speech: bool = True  # drop words whose middle lies outside every speech region
    no_speech: bool = True  # drop segments the engine itself thinks hold no speech:
    no_speech_prob: float = Field(0.6, ge=0, le=1)  # no-speech probability above this
    avg_logprob: float = Field(-1.0, le=0)  # and average log-probability below this
    word_probability: float = Field(0.3, ge=0, le=1)  # or its words' mean probability below this
    echo: bool = True  # drop segments rated no speech (as above) that repeat earlier text
    echo_share: float = Field(0.8, gt=0, le=1)  # "repeat": this share of its word triples said before
    repetition: bool = True  # collapse a phrase said more than max_repeats times in a row
    max_repeats: int = Field(3, ge=1)
    max_ngram: int = Field(8, ge=1, le=32)  # longest phrase (in words) checked for loops
    compression: bool = True  # drop segments whose text compresses too well (loops Whisper made)
    compression_ratio: float = Field(2.4, gt=1)
    known_phrases: bool = True  # "thanks for watching", "subtitles by ...", "♪" with little speech under them
    known_phrase_speech: float = Field(0.5, ge=0, le=1)  # "little": less than this share of speech
    unsure: bool = True  # drop segments whose words the engine barely believes (babble, foreign-sounding voices)
    unsure_word_probability: float = Field(0.5, ge=0, le=1)  # "barely": mean word probability below this
    vocables: bool = True  # drop segments that are only sung vowels ("ah, ah, ah", "la la la")
    vocables_at_least: int = Field(3, ge=1)  # ... said at least this many times


class WatchSettings(_Strict):
    """A watched folder; unset overrides fall back to the global settings."""

    path: Path
    recursive: bool = True
    extensions: CsvList | None = None  # default: common video and audio extensions
    ignore: CsvList | None = None  # default: partial downloads, hidden files, samples, extras
    settle_seconds: float = Field(15.0, ge=0)
    polling: bool | None = None  # default: automatic, polling on network and FUSE filesystems
    poll_interval: float = Field(5.0, gt=0)
    mode: Literal["library", "dropfolder"] = "library"
    outbox: Path | None = None  # dropfolder: default <watch>/../outbox
    done_dir: Path | None = None  # dropfolder: default <watch>/../done
    failed_dir: Path | None = None  # dropfolder: default <watch>/../failed
    language: str | None = None
    task: Literal["transcribe", "translate"] | None = None
    formats: CsvList | None = None
    output_dir: Path | None = None
    initial_prompt: str | None = None
    hotwords: CsvList | None = None
    diarize: bool | None = None
    num_speakers: int | None = Field(None, ge=1)
    min_speakers: int | None = Field(None, ge=1)
    max_speakers: int | None = Field(None, ge=1)
    speaker_names: CsvList | None = None
    feed: Path | None = None  # podcast RSS feed file to add <podcast:transcript> tags to
    feed_base_url: str | None = None  # public URL of the folder the transcripts are served from

    _csv = field_validator("formats", "extensions", "ignore", mode="before")(split_csv)
    _names = field_validator("hotwords", "speaker_names", mode="before")(split_names)
    _folders = field_validator("output_dir", "outbox", "done_dir", "failed_dir")(_absolute_folder)

    def dropfolder_dirs(self) -> tuple[Path, Path, Path]:
        """(outbox, done, failed) of a drop folder: siblings of the inbox unless set."""
        parent = self.path.expanduser().resolve().parent
        return (
            self.outbox or parent / "outbox",
            self.done_dir or parent / "done",
            self.failed_dir or parent / "failed",
        )

    _language = field_validator("language")(_whisper_language)


def default_state_dir() -> Path:
    """``$STATE_DIRECTORY`` under systemd, else ``$XDG_STATE_HOME/ingest``."""
    if os.environ.get("STATE_DIRECTORY"):
        return Path(os.environ["STATE_DIRECTORY"].split(":")[0])
    return xdg_dir("XDG_STATE_HOME", ".local/state") / "ingest"


class DaemonSettings(_Strict):
    state_dir: Path = Field(default_factory=default_state_dir)
    workers: int = Field(0, ge=0, le=64)  # 0: one per GPU, or one on CPU
    max_attempts: int = Field(3, ge=1)
    backoff_seconds: float = Field(60.0, ge=0)  # doubles with each attempt
    lease_seconds: float = Field(120.0, gt=5)
    stop_timeout: float = Field(60.0, ge=0)  # SIGTERM: let the current job finish this long, then hand it back
