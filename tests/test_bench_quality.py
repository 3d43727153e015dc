"""bench.quality's variant builders make what they claim (real espeak-ng, sox and ffmpeg).

The benchmark's verdicts are only as good as its media: a mix said to be at 5 dB must
be at 5 dB, and the 5.1 file must carry the speech in the centre alone.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from bench.quality import metrics, report, run, sounds
from bench.quality.metrics import Outcome
from bench.quality.sounds import RATE
from bench.quality.variants import Builder, Variant, snr_db

RIGHT, WRONG = "one two three four", "one two tree four"  # a reference and a one-word miss
SENTENCE = "Please remember to bring an umbrella when you walk to the station this evening."


@pytest.fixture(scope="module")
def builder(tmp_path_factory) -> Builder:
    speech = sounds.Speech("t", sounds.espeak(SENTENCE, sounds.VOICES[0]), SENTENCE)
    return Builder(speech, tmp_path_factory.mktemp("variants"), pad_seconds=3.0, silence_seconds=2.0)


def channel(path, name: str) -> np.ndarray:
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-af", f"pan=mono|c0={name}"]
    cmd += ["-ar", str(RATE), "-f", "f32le", "-"]
    return np.frombuffer(subprocess.run(cmd, capture_output=True, check=True).stdout, dtype=np.float32)


def correlation(a: np.ndarray, b: np.ndarray, max_lag: int = 2048) -> float:
    """Peak normalised cross-correlation within ``max_lag`` (AAC in Matroska keeps its priming)."""
    n = min(len(a), len(b))
    x, y = a[:n].astype(np.float64), b[:n].astype(np.float64)
    xc = np.fft.irfft(np.fft.rfft(x, 2 * n) * np.conj(np.fft.rfft(y, 2 * n)), 2 * n)
    near = np.concatenate([xc[: max_lag + 1], xc[-max_lag:]])
    return float(np.max(np.abs(near)) / np.sqrt(np.dot(x, x) * np.dot(y, y)))


@pytest.mark.parametrize(("kind", "snr"), [("noise", 10), ("music", 5), ("music", 20)])
def test_mix_is_at_the_snr_it_claims(builder, kind, snr):
    variant = builder.mixed(kind, snr)
    mix, speech = sounds.decode(variant.path), sounds.decode(variant.stem)
    assert len(mix) == len(speech) == len(builder.speech.samples)
    assert snr_db(speech, mix - speech) == pytest.approx(snr, abs=0.5)
    assert np.max(np.abs(mix)) < 0.95  # scaled, never clipped


def test_surround_has_speech_only_in_the_centre(builder):
    variant = builder.surround()
    probe = ["ffprobe", "-v", "error", "-show_entries", "stream=channels,channel_layout", "-of", "csv=p=0"]
    assert subprocess.run([*probe, str(variant.path)], capture_output=True, text=True).stdout.split() == ["6,5.1"]
    speech = sounds.decode(variant.stem)
    assert correlation(channel(variant.path, "FC"), speech) > 0.9
    # The LFE gets the music below 120 Hz only: quieter than the full-band channels.
    for name, floor in (("FL", 0.005), ("FR", 0.005), ("BL", 0.005), ("BR", 0.005), ("LFE", 0.0005)):
        other = channel(variant.path, name)
        assert correlation(other, speech) < 0.15, name
        assert np.sqrt(np.mean(other**2)) > floor, f"{name} carries music"


def test_telephone_is_8k_mulaw_without_the_high_band(builder):
    variant = builder.telephone()
    probe = ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,sample_rate", "-of", "csv=p=0"]
    assert subprocess.run([*probe, str(variant.path)], capture_output=True, text=True).stdout.split() == [
        "pcm_mulaw,8000"
    ]
    spectrum = np.abs(np.fft.rfft(sounds.decode(variant.path))) ** 2
    freqs = np.fft.rfftfreq(2 * (len(spectrum) - 1), 1 / RATE)
    assert spectrum[freqs > 4000].sum() < 1e-3 * spectrum.sum()


def test_silence_stretches_are_digital_silence_around_the_speech(builder):
    variant = builder.silence()
    samples = sounds.decode(variant.path)
    (a, b), (c, d) = variant.nonspeech
    assert (a, b, d) == (0.0, 2.0, pytest.approx(4.0 + builder.speech.seconds, abs=0.01))
    assert not samples[: int(b * RATE)].any()
    assert not samples[int(c * RATE) + 1 :].any()
    assert correlation(samples[int(b * RATE) : int(c * RATE)], builder.speech.samples, 16) > 0.99


@pytest.mark.parametrize("kind", ["music", "crowd"])
def test_stretches_carry_sound_at_the_speech_level(builder, kind):
    variant = builder.stretches(kind)
    samples = sounds.decode(variant.path)
    (_, b), (c, _) = variant.nonspeech
    before, after = samples[: int((b - 1) * RATE)], samples[int((c + 1) * RATE) :]
    speech = samples[int(b * RATE) : int(c * RATE)]
    level = 20 * np.log10(np.sqrt(np.mean(before**2)) / np.sqrt(np.mean(speech**2)))
    assert -6 < level < 6
    assert np.sqrt(np.mean(after**2)) > 0.01


def test_words_over_counts_only_words_inside_the_stretches():
    words = [(0.2, 0.4, "edge"), (1.0, 1.4, "inside"), (2.9, 3.2, "speech"), (8.0, 8.5, "after")]
    assert metrics.words_over(words, [(0.0, 3.0), (6.0, 9.0)]) == 2


def test_normalisation_and_wer():
    assert metrics.normalize("Ask not -- what YOUR country's (can) do!") == "ask not what your country's can do"
    assert metrics.wer("ask not what", "Ask not, what?") == 0
    assert metrics.wer("ask not what", "") == 1.0
    assert metrics.errors("one two three four", "one two for") == (2, 4)


def test_a_take_is_the_same_file_a_hair_quieter(builder, tmp_path):
    """Takes differ only by an inaudible 0.1 dB of gain; digital silence stays digital silence."""
    quieter = Builder(builder.speech, tmp_path, builder.pad, builder.gap, gain_db=run.take_gain(1))
    quiet = quieter.silence()
    a, b = sounds.decode(builder.silence().path), sounds.decode(quiet.path)
    loud = np.abs(a) > 0.1
    assert np.median(b[loud] / a[loud]) == pytest.approx(10 ** (-0.1 / 20), abs=2e-4)
    gap = int(quiet.nonspeech[0][1] * RATE)
    assert not np.array_equal(a, b) and not a[:gap].any() and not b[:gap].any()


def test_verdicts_compare_medians_over_takes():
    """One bad take does not make ingest 'worse'; a worse median does, and take 0 is reported apart."""
    variant = Variant("clean", "t", Path("t.wav"), "one two three four")

    def outs(*texts: str) -> tuple[Outcome, ...]:
        return tuple(Outcome(t, (), "en", 1.0) for t in texts)

    right, wrong = RIGHT, WRONG
    lucky = report.Row(variant, outs(right) * 3, outs(wrong, right, right))
    worse = report.Row(variant, outs(right) * 3, outs(wrong) * 3)
    text = "\n".join(report.verdicts([lucky]))
    assert "(median over takes) on: none" in text
    assert "take 0 alone (the files as built), ingest worse on: t · clean" in text
    assert "t · clean (0.000 → 0.250)" in "\n".join(report.verdicts([worse]))


def test_gap_table_sums_up_each_source_over_its_lengths():
    """Per source: medians over the silence lengths, how often ingest reads better or worse,
    and the words each path wrote over the silence."""
    right, wrong = RIGHT, WRONG

    def row(gap: int, bare: str, ingest: str, over_silence: int = 0, source: str = "t") -> report.Row:
        v = Variant(f"silence {gap} s", source, Path(f"{gap}.wav"), right, nonspeech=((0.0, float(gap)),))
        said = tuple((1.0 + k, 1.5 + k, "you") for k in range(over_silence))
        seconds = 2.0 * gap + 4
        return report.Row(v, (Outcome(bare, said, "en", 1.0, None, seconds),), (Outcome(ingest, (), "en", 1.0),))

    rows = [row(40, wrong, right, 2), row(45, right, right, 1), row(50, right, wrong)]
    rows += [row(gap, right, right, source="u") for gap in (40, 45, 50)]
    text = report.gap_table("base", rows)
    assert "silence variant at 3 lengths" in text and "| t · silence 45 s |" in text
    assert "- t: median WER bare 0.000, ingest 0.000" in text
    assert "ingest better on 1, worse on 1 of 3 lengths; words over the silence: bare 3, ingest 0" in text
    assert "- u: median WER bare 0.000, ingest 0.000" in text and "better on 0, worse on 0 of 3" in text
    assert "median over takes) on" not in text  # the main table's verdicts are not in it
