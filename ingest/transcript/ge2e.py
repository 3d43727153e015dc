"""A GE2E d-vector speaker encoder as a ``pyannote.audio`` embedding model.

The weights are Resemblyzer's (a 3-layer LSTM trained with the generalised end-to-end
loss); pyannote's diarization pipeline calls ``forward(waveforms, weights)`` with a
chunk of audio and one speaker's activity per segmentation frame. Only the frames
where that speaker is active are heard: they are joined, brought up to the loudness
the encoder was trained at, cut into 1.6 s partial windows, and the windows'
embeddings are averaged.

pyannote finds this class again through the checkpoint (``architecture`` names this
module): folders assembled before the module moved name ``ingest.ge2e``, which
``ingest._moved.STORED`` keeps importable; a new move needs an entry there too.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from pyannote.audio import __version__ as pyannote_version
from pyannote.audio.core.model import Model
from pyannote.audio.core.task import Problem, Resolution, Specifications
from torch import nn

SAMPLE_RATE = 16_000
N_FFT = 400  # 25 ms window
HOP = 160  # 10 ms step
N_MELS = 40
HIDDEN = 256
LAYERS = 3
DIMENSION = 256
PARTIAL_FRAMES = 160  # 1.6 s of 10 ms frames
PARTIAL_STEP = 77  # ≈ 1.3 partial windows a second, as the encoder was used in training
TARGET_RMS = 10 ** (-30 / 20)  # -30 dBFS: quieter speech is raised to it, louder left alone
SPECIFICATIONS = Specifications(
    problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=PARTIAL_FRAMES * HOP / SAMPLE_RATE
)


def _hz_to_mel(hz: torch.Tensor) -> torch.Tensor:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    linear = hz * 3.0 / 200.0
    log = 15.0 + torch.log(torch.clamp(hz, min=1000.0) / 1000.0) * 27.0 / math.log(6.4)
    return torch.where(hz < 1000.0, linear, log)


def _mel_to_hz(mel: torch.Tensor) -> torch.Tensor:
    linear = mel * 200.0 / 3.0
    log = 1000.0 * torch.exp((mel - 15.0) * math.log(6.4) / 27.0)
    return torch.where(mel < 15.0, linear, log)


def mel_filterbank(n_mels: int = N_MELS, n_fft: int = N_FFT, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """(n_mels, n_fft // 2 + 1) triangles, area-normalised (Slaney), 0 Hz to Nyquist."""
    bins = torch.linspace(0.0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)
    top = _hz_to_mel(torch.tensor(sample_rate / 2, dtype=torch.float64))
    edges = _mel_to_hz(torch.linspace(0.0, float(top), n_mels + 2, dtype=torch.float64))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins - lower) / (centre - lower)
    falling = (upper - bins) / (upper - centre)
    triangles = torch.clamp(torch.minimum(rising, falling), min=0.0)
    return (triangles * 2.0 / (upper - lower)).float()


class GE2E(Model):
    """Resemblyzer's voice encoder: 40-band power mel → 3 LSTM layers of 256 → linear → ReLU → L2."""

    window: torch.Tensor  # buffers, registered in __init__
    filterbank: torch.Tensor

    def __init__(self, sample_rate: int = SAMPLE_RATE, num_channels: int = 1, task: Any = None) -> None:
        super().__init__(sample_rate=sample_rate, num_channels=num_channels, task=task)
        self.lstm = nn.LSTM(N_MELS, HIDDEN, LAYERS, batch_first=True)
        self.linear = nn.Linear(HIDDEN, DIMENSION)
        self.register_buffer("window", torch.hann_window(N_FFT), persistent=False)
        self.register_buffer("filterbank", mel_filterbank(), persistent=False)
        self.specifications = SPECIFICATIONS

    @property
    def dimension(self) -> int:
        return DIMENSION

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """The specifications are fixed by the architecture, not stored in the checkpoint."""
        self.specifications = SPECIFICATIONS

    # pyannote's Model.forward takes **kwargs for every architecture; an embedding model is
    # called as forward(waveforms, weights=...), and only that.
    def forward(self, waveforms: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:  # type: ignore[override]
        """(batch, 1, samples) and optional (batch, frames) activity → (batch, 256) unit vectors.

        A chunk in which the speaker is never active gets NaN, which pyannote's
        clustering leaves out.
        """
        clips = self._active_audio(waveforms[:, 0], weights)
        windows, owners = [], []
        for index, clip in enumerate(clips):
            if clip.numel():
                found = self._partials(self._mel(self._loudness(clip)))
                windows.append(found)
                owners += [index] * len(found)
        embeddings = torch.full((len(clips), DIMENSION), math.nan, device=waveforms.device)
        if windows:
            partial = self._encode(torch.cat(windows))
            owner = torch.tensor(owners, device=waveforms.device)
            summed = torch.zeros_like(embeddings).index_add_(0, owner, partial)
            heard = torch.unique(owner)
            embeddings[heard] = F.normalize(summed[heard], dim=-1)
        return embeddings

    def _active_audio(self, audio: torch.Tensor, weights: torch.Tensor | None) -> list[torch.Tensor]:
        """Each row's samples where its speaker is active (a frame weight above one half)."""
        if weights is None:
            return list(audio)
        num_samples, num_frames = audio.shape[1], weights.shape[1]
        frame_of_sample = torch.arange(num_samples, device=audio.device) * num_frames // num_samples
        active = weights.to(audio.device)[:, frame_of_sample] > 0.5
        return [row[keep] for row, keep in zip(audio, active, strict=True)]

    @staticmethod
    def _loudness(clip: torch.Tensor) -> torch.Tensor:
        rms = torch.sqrt(torch.mean(clip**2)).clamp(min=1e-8)
        return clip * torch.clamp(TARGET_RMS / rms, min=1.0)

    def _mel(self, clip: torch.Tensor) -> torch.Tensor:
        """(frames, 40) power mel spectrogram; not logarithmic, as the encoder was trained."""
        minimum = PARTIAL_FRAMES * HOP
        if clip.numel() < minimum:
            clip = F.pad(clip, (0, minimum - clip.numel()))
        spectrum = torch.stft(
            clip, N_FFT, HOP, window=self.window, center=True, pad_mode="constant", return_complex=True
        )
        return (self.filterbank @ spectrum.abs() ** 2).T

    @staticmethod
    def _partials(mel: torch.Tensor) -> torch.Tensor:
        """(windows, 160, 40): every 77 frames, plus one flush with the end."""
        windows = mel.unfold(0, PARTIAL_FRAMES, PARTIAL_STEP).transpose(1, 2)
        if (len(mel) - PARTIAL_FRAMES) % PARTIAL_STEP:
            windows = torch.cat([windows, mel[None, -PARTIAL_FRAMES:]])
        return windows

    def _encode(self, mels: torch.Tensor) -> torch.Tensor:
        _, (hidden, _) = self.lstm(mels)
        return F.normalize(F.relu(self.linear(hidden[-1])), dim=-1)


def checkpoint_from_resemblyzer(data: bytes) -> dict[str, Any]:
    """A pyannote-loadable checkpoint built from Resemblyzer's ``pretrained.pt`` bytes."""
    stored = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)["model_state"]
    model = GE2E()
    # The GE2E loss's own scale and bias (similarity_weight, similarity_bias) are for training only.
    model.load_state_dict({k: v for k, v in stored.items() if k.startswith(("lstm.", "linear."))})
    return {
        "state_dict": model.state_dict(),
        "hyper_parameters": {"sample_rate": SAMPLE_RATE, "num_channels": 1},
        "pytorch-lightning_version": _lightning_version(),
        "pyannote.audio": {
            "versions": {"pyannote.audio": pyannote_version},
            "architecture": {"module": GE2E.__module__, "class": GE2E.__name__},
            "specifications": None,  # see GE2E.on_load_checkpoint
        },
    }


def save_checkpoint(data: bytes, target: Path) -> None:
    torch.save(checkpoint_from_resemblyzer(data), target)


def _lightning_version() -> str:
    import lightning

    return lightning.__version__
