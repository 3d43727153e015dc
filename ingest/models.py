"""Frozen values that travel between the stages of a job.

No stage hands another a mutable dict: each returns a new value built from these.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ingest.engines.weights import default_models_dir

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

Task = Literal["transcribe", "translate"]
Regions = tuple[tuple[float, float], ...]  # (start, end) seconds, sorted, apart
Status = Literal["done", "failed", "skipped", "cancelled"]


@dataclass(frozen=True)
class AudioTrack:
    """One audio stream as ffprobe reports it."""

    index: int  # absolute stream index in the container
    codec: str
    channels: int
    channel_layout: str
    language: str | None  # ISO 639-1 when known ("en"), else the raw tag
    default: bool
    title: str | None = None
    duration: float = 0.0  # 0 when the container does not say


@dataclass(frozen=True)
class SubtitleTrack:
    """A subtitle stream already embedded in the container."""

    index: int
    codec: str
    language: str | None
    forced: bool
    text: bool  # text-based (subrip, ass, mov_text, webvtt) rather than bitmap


@dataclass(frozen=True)
class MediaFile:
    """A probed media file."""

    path: Path
    size: int
    duration: float
    format_name: str
    audio_tracks: tuple[AudioTrack, ...]
    subtitle_tracks: tuple[SubtitleTrack, ...] = ()
    has_video: bool = False


@dataclass(frozen=True)
class Audio:
    """Decoded audio ready for an engine: 16 kHz mono float32 samples.

    From ``extract`` the samples are a read-only ``np.memmap`` of a temporary file (page
    cache, not process memory, for a file of any length): copy the slice you need where a
    library wants a writable array (``torch.from_numpy`` warns), never the whole of it if
    you can help it. An engine gets a window of at most ``windows.WINDOW_SECONDS`` as a
    plain writable array (``ingest.windows``).
    """

    samples: npt.NDArray[np.float32]  # numpy only for the type checker: models.py imports no numpy
    sample_rate: int
    track: AudioTrack
    # Speech regions in seconds, merged and padded (``ingest.vad``); None: not looked for
    # (the whole file is heard), (): looked for and none found.
    speech: Regions | None = None
    # Short pauses (breaths between phrases) inside the speech regions, in seconds: where a
    # long region may be cut into clips without cutting a word. None: not looked for.
    pauses: Regions | None = None

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str  # as the engine spells it, with its leading space
    probability: float = 1.0
    speaker: str | None = None


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str
    words: tuple[Word, ...]
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    compression_ratio: float = 1.0
    speaker: str | None = None


@dataclass(frozen=True)
class SpeakerTurn:
    start: float
    end: float
    speaker: str


@dataclass(frozen=True)
class Cue:
    """One subtitle: already wrapped into lines and timed."""

    start: float
    end: float
    lines: tuple[str, ...]
    speaker: str | None = None

    @property
    def text(self) -> str:
        return " ".join(self.lines)


@dataclass(frozen=True)
class Transcript:
    language: str
    language_probability: float
    duration: float
    segments: tuple[Segment, ...]
    engine: str
    model: str
    task: Task = "transcribe"
    cues: tuple[Cue, ...] = ()
    timings: dict[str, float] = field(default_factory=dict, compare=False)
    speech: Regions | None = None  # the speech regions decoding was limited to, as on ``Audio``
    # Words the hallucination filters removed, by reason (``ingest.hallucination.REASONS``).
    filtered: dict[str, int] = field(default_factory=dict)

    @property
    def output_language(self) -> str:
        """The language the text is in: English after ``translate`` (as ``JobOptions.output_language``)."""
        return "en" if self.task == "translate" else self.language

    @property
    def words(self) -> tuple[Word, ...]:
        return tuple(w for s in self.segments for w in s.words)

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments).strip()


@dataclass(frozen=True)
class JobOptions:
    """Everything that decides how one file is processed, resolved from settings."""

    engine: str = "faster-whisper"
    model: str = "auto"
    device: str = "auto"
    compute_type: str = "auto"
    language: str | None = None
    task: Task = "transcribe"
    initial_prompt: str | None = None
    hotwords: tuple[str, ...] = ()
    beam_size: int = 5
    temperatures: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    seed: int = 0  # seeds the sampling of a fallback temperature above 0
    cpu_threads: int = 0
    batch_size: int = 0  # 0: automatic (batched on a GPU, sequential on CPU)
    models_dir: Path = field(default_factory=default_models_dir)
    formats: tuple[str, ...] = ("srt",)
    output_dir: Path | None = None
    language_codes: Literal["639-1", "639-2/B"] = "639-1"
    sdh: bool = False
    forced: bool = False
    overwrite: bool = False
    diarize: bool = False
    diarize_model: str = "builtin"
    diarize_device: str = "auto"
    num_speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None
    speaker_names: tuple[str, ...] = ()
    feed: Path | None = None
    feed_base_url: str | None = None
    # What to do when a target name is taken by a file ingest did not write:
    # fail the job (one-shot CLI, which suggests --overwrite) or skip it with the reason (daemon).
    existing: Literal["fail", "skip"] = "fail"

    @property
    def output_language(self) -> str | None:
        """The language the text will be in, when known before decoding: English after
        ``translate``, else the forced language; None when the engine will detect it."""
        return "en" if self.task == "translate" else self.language


@dataclass(frozen=True)
class Job:
    path: Path
    options: JobOptions
    media: MediaFile | None = None
    # Outputs ingest wrote earlier for this media and nobody changed since: safe to replace.
    replaceable: frozenset[Path] = frozenset()
    # False while the daemon will retry a failure of this attempt; the CLI has one attempt.
    last_attempt: bool = True
    # Called with (seconds done, seconds in all); not part of the job's identity.
    progress: Callable[[float, float], None] | None = field(default=None, compare=False, repr=False)
    # Called by the engine with the spoken language once it is judged, before the long
    # decode; raises when that language's sidecars are taken (a user's own .en.srt), so a
    # file is refused in seconds, not after an hour of transcribing.
    language_known: Callable[[str], None] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class JobResult:
    path: Path
    status: Status
    outputs: tuple[Path, ...] = ()
    error: str | None = None
    language: str | None = None
    duration: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    transcript: Transcript | None = field(default=None, compare=False, repr=False)
    # A failure that will be retried is not final: notifiers tell people once, at the end.
    final: bool = True
