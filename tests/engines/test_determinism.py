"""The same file with the same settings gives the same bytes, run after run (issue 16).

The hard case is a file whose decoding falls back to sampling: sung vowels before JFK make
``tiny.en`` loop on "ah, ah, ah" at temperature 0, fail the compression check and sample
at 0.2 and up. A daemon keeps its model loaded from file to file; before the fix its random
stream went on from the previous file, so the second run of one file wrote other words
(and the JSON carried the run's stage timings).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ingest_plugins import faster_whisper as fw

from bench.quality import sounds
from bench.quality.variants import write_wav
from ingest.commands import cli
from ingest.engines import modelcache

FORMATS = "json,srt,vtt,txt"


def hard_file(path: Path) -> Path:
    """14 s of sung vowels, then JFK's sentence; 16 kHz mono WAV."""
    sung = sounds.singing_loop()[: 14 * sounds.RATE]
    mix = np.concatenate([sung / np.sqrt(np.mean(sung**2)) * 0.08, sounds.jfk().samples])
    return write_wav(path, mix * (0.8 / np.max(np.abs(mix))))


def test_a_file_that_needs_the_sampling_fallback_comes_out_the_same_three_times(tmp_path, monkeypatch):
    media = hard_file(tmp_path / "sung.wav")
    monkeypatch.setattr(modelcache, "CACHE", modelcache.ModelCache())  # as a daemon: one cache, three jobs
    loads = []
    real_load = fw.load
    monkeypatch.setattr(fw, "load", lambda *a: loads.append(a) or real_load(*a))
    runs = []
    for n in range(3):
        out = tmp_path / f"run{n}"
        argv = ["process", str(media), "--model", "tiny.en", "--format", FORMATS, "--output-dir", str(out)]
        assert cli.main([*argv, "--log-level", "error"]) == 0
        runs.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    assert sorted(runs[0]) == ["sung-transcript.en.txt", "sung.en.json", "sung.en.srt", "sung.en.vtt"]
    assert b"country" in runs[0]["sung.en.srt"]
    assert runs[1] == runs[0] and runs[2] == runs[0]
    # The premise: every run sampled, so every run after the first started from a fresh model.
    assert len(loads) == 3
