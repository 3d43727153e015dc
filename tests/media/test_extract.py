"""ingest.media.extract: decoding and cleaning real files to 16 kHz mono float32."""

from __future__ import annotations

import dataclasses
import gc
import tempfile
from pathlib import Path

import numpy as np
import pytest

from ingest.errors import MediaError
from ingest.media.extract import SAMPLE_RATE, command, extract, uses_centre
from ingest.media.probe import choose_track, probe
from ingest.settings import AudioSettings
from tests.support import mediafactory as mf
from tests.support import tmpfs

PLAIN = AudioSettings(centre_channel=False, highpass_hz=None, lowpass_hz=None, loudness="off")
# Search this far for the best match: AAC in Matroska keeps the encoder's priming
# (1024 samples, 46 ms at 22.05 kHz) because ffmpeg writes no codec delay for it.
MAX_LAG = SAMPLE_RATE // 10


def similarity(signal: np.ndarray, reference: np.ndarray, max_lag: int = MAX_LAG) -> float:
    """Peak normalised cross-correlation within ``max_lag`` samples: 1.0 is the same waveform."""
    n = min(len(signal), len(reference))
    a, b = signal[:n].astype(np.float64), reference[:n].astype(np.float64)
    size = 2 * n
    xcorr = np.fft.irfft(np.fft.rfft(a, size) * np.conj(np.fft.rfft(b, size)), size)
    near = np.concatenate([xcorr[: max_lag + 1], xcorr[-max_lag:]])
    return float(np.max(np.abs(near)) / np.sqrt(np.dot(a, a) * np.dot(b, b)))


@pytest.fixture(scope="module")
def surround(surround_mkv):
    media = probe(surround_mkv)
    return media, media.audio_tracks[0]


@pytest.fixture(scope="module")
def clean_speech(speech_en_wav) -> np.ndarray:
    return mf.pcm16k(speech_en_wav)


@pytest.mark.parametrize("fixture", ["two_track_mkv", "two_track_mp4"])
def test_extract_gives_16k_mono_float32_of_track_length(request, fixture):
    media = probe(request.getfixturevalue(fixture))
    track = media.audio_tracks[1]
    audio = extract(media, track, AudioSettings())
    assert audio.sample_rate == SAMPLE_RATE
    assert audio.samples.dtype == np.float32
    assert audio.samples.ndim == 1
    assert audio.track == track
    assert audio.duration == pytest.approx(track.duration, abs=0.1)
    assert np.isfinite(audio.samples).all()
    assert 0.01 < np.sqrt(np.mean(audio.samples**2)) < 1.0  # speech, not silence


def mappings(folder: Path) -> list[str]:
    """This process's memory mappings of files in ``folder`` (/proc/self/maps)."""
    return [line for line in Path("/proc/self/maps").read_text().splitlines() if str(folder) in line]


@pytest.fixture
def spool_dir(tmp_path, monkeypatch) -> Path:
    """tempfile's folder, for this test alone: where extract spools the decoded audio."""
    folder = tmp_path / "spool"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_samples_are_a_read_only_map_of_a_file_that_goes_with_the_audio(two_track_mkv, spool_dir):
    media = probe(two_track_mkv)
    audio = extract(media, media.audio_tracks[1], AudioSettings())
    assert isinstance(audio.samples, np.memmap) and not audio.samples.flags.writeable
    assert list(spool_dir.iterdir()) == []  # no name in the folder, ever: nothing to leave behind
    assert len(mappings(spool_dir)) == 1 and mappings(spool_dir)[0].endswith("(deleted)")
    view = audio.samples[SAMPLE_RATE : 2 * SAMPLE_RATE]
    del audio
    gc.collect()
    assert len(mappings(spool_dir)) == 1  # a view still holds the data
    del view
    gc.collect()
    assert mappings(spool_dir) == []  # the last view gone: mapping and file gone


def test_errors_leave_no_spool_behind(two_track_mkv, text_mkv, spool_dir):
    media = dataclasses.replace(probe(two_track_mkv), path=text_mkv)
    with pytest.raises(MediaError):
        extract(media, media.audio_tracks[0], AudioSettings())
    assert list(spool_dir.iterdir()) == [] and mappings(spool_dir) == []


def test_a_full_spool_folder_is_worth_another_try(two_track_mkv, tmp_path, monkeypatch):
    """A disk that is full now may not be later: not a permanent failure of the file."""
    with tmpfs.mounted(tmp_path / "small", "64k") as small:
        monkeypatch.setattr(tempfile, "tempdir", str(small))
        media = probe(two_track_mkv)
        with pytest.raises(MediaError) as excinfo:
            extract(media, media.audio_tracks[1], AudioSettings())  # 4 s: 256 kB of samples
    assert "No space left on device" in str(excinfo.value) and not excinfo.value.permanent


def test_extract_takes_the_chosen_track(two_track_mkv, speech_en_wav, speech_de_wav):
    media = probe(two_track_mkv)
    english, german = (extract(media, t, PLAIN).samples for t in media.audio_tracks)
    reference = mf.pcm16k(speech_en_wav)
    assert similarity(english, reference) > 0.9
    assert similarity(german, reference) < 0.3
    assert similarity(german, mf.pcm16k(speech_de_wav)) > 0.9


def test_surround_bed_drowns_the_speech_in_a_plain_downmix(surround_mkv, clean_speech):
    # Guards the fixture: without centre extraction the speech must not dominate.
    assert similarity(mf.pcm16k(surround_mkv), clean_speech) < 0.4


def test_surround_uses_centre_only_when_enabled(surround):
    _, track = surround
    assert uses_centre(track, AudioSettings())
    assert not uses_centre(track, AudioSettings(centre_channel=False))
    stereo = dataclasses.replace(track, channels=2, channel_layout="stereo")
    assert not uses_centre(stereo, AudioSettings())


def test_centre_channel_recovers_the_speech(surround, clean_speech):
    media, track = surround
    centre = extract(media, track, AudioSettings()).samples
    downmix = extract(media, track, AudioSettings(centre_channel=False)).samples
    # Measured: about 0.94 with the centre, 0.21 without.
    assert similarity(centre, clean_speech) > 0.8
    assert similarity(downmix, clean_speech) < 0.4
    assert len(centre) == pytest.approx(len(downmix), abs=SAMPLE_RATE // 100)


def test_truncated_mkv_is_reported_as_damaged(truncated_mkv):
    media = probe(truncated_mkv)
    with pytest.raises(MediaError) as excinfo:
        extract(media, choose_track(media), AudioSettings())
    message = str(excinfo.value)
    assert excinfo.value.path == truncated_mkv
    assert "truncated or damaged" in message
    assert "File ended prematurely" in message  # ffmpeg's own words


def test_truncated_faststart_mp4_is_reported_as_damaged(truncated_faststart_mp4):
    media = probe(truncated_faststart_mp4)  # the index up front still claims every sample
    with pytest.raises(MediaError) as excinfo:
        extract(media, choose_track(media), AudioSettings())
    assert str(truncated_faststart_mp4) in str(excinfo.value)
    assert "truncated or damaged" in str(excinfo.value)
    assert "partial file" in str(excinfo.value)  # ffmpeg's own words


def test_undecodable_file_carries_ffmpeg_words(two_track_mkv, text_mkv):
    # Probed fine, then replaced by something that is not media (a copy gone wrong).
    media = dataclasses.replace(probe(two_track_mkv), path=text_mkv)
    with pytest.raises(MediaError) as excinfo:
        extract(media, media.audio_tracks[0], AudioSettings())
    assert str(text_mkv) in str(excinfo.value)
    assert "ffmpeg could not decode audio" in str(excinfo.value)
    assert "Invalid data found when processing input" in str(excinfo.value)


def test_file_gone_after_probe_carries_ffmpeg_words(tmp_path, two_track_mkv):
    gone = tmp_path / "moved.mkv"
    media = dataclasses.replace(probe(two_track_mkv), path=gone)
    with pytest.raises(MediaError) as excinfo:
        extract(media, media.audio_tracks[0], AudioSettings())
    assert str(gone) in str(excinfo.value)
    assert "No such file or directory" in str(excinfo.value)


@pytest.mark.parametrize("name", ["speechnorm", "highpass", "lowpass"])
def test_command_cleaning_filters_follow_settings(surround, name):
    media, track = surround
    on = " ".join(
        command(media, track, AudioSettings(highpass_hz=80, lowpass_hz=7800, loudness="speechnorm", denoise=True))
    )
    assert "loudnorm" in " ".join(command(media, track, AudioSettings(loudness="loudnorm")))
    off = " ".join(command(media, track, PLAIN))
    assert name in on
    assert name not in off
    assert "afftdn" in on and "afftdn" not in off


def test_command_decodes_the_chosen_stream_to_pipe(two_track_mkv):
    media = probe(two_track_mkv)
    args = command(media, media.audio_tracks[1], PLAIN)
    assert args[0] == "ffmpeg"
    assert str(two_track_mkv) in args
    assert "0:2" in args or any(a.startswith("[0:2]") for a in args)  # the German track, by absolute index
    assert args[args.index("-ar") + 1] == str(SAMPLE_RATE)
    assert args[args.index("-f") + 1] == "f32le"
    assert "pipe:" in args
