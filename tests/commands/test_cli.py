"""The ``ingest`` command as a user runs it: a real process, real files."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import unprivileged
from tests.support.wer import JFK, wer


def ingest(*args: str | Path, env: dict[str, str] | None = None, prefix: list[str] | None = None):
    cmd = [*(prefix or []), sys.executable, "-m", "ingest", *map(str, args)]
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=300, check=False)


def log_events(stderr: str) -> list[dict]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


@pytest.fixture
def jfk(shared_media, tmp_path) -> Path:
    return Path(shutil.copy(shared_media / "jfk.flac", tmp_path / "jfk.flac"))


def test_version():
    proc = ingest("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("ingest ")


def test_a_relative_path_becomes_the_full_path_every_plugin_sees(jfk, tmp_path, monkeypatch, capsys):
    """A media server cannot find "jfk.flac"; it needs the path from the root."""
    from ingest.commands import cli

    monkeypatch.chdir(tmp_path)
    assert cli.main(["process", "jfk.flac", "--model", "tiny.en", "--log-level", "error"]) == 0
    assert capsys.readouterr().out.strip() == f"{jfk}: wrote {tmp_path / 'jfk.en.srt'}"


def test_process_good_and_bad_files_in_one_command(jfk, tmp_path, zero_byte_mkv, text_mkv, video_only_mkv):
    missing = tmp_path / "missing.mkv"
    proc = ingest(
        "process", zero_byte_mkv, jfk, text_mkv, missing, video_only_mkv, "--model", "tiny.en", "--format", "srt,json"
    )
    assert proc.returncode == 1
    assert proc.stdout.strip() == f"{jfk}: wrote {tmp_path / 'jfk.en.json'}, {tmp_path / 'jfk.en.srt'}"
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 4
    for path in (zero_byte_mkv, text_mkv, missing, video_only_mkv):
        assert any(str(path) in ln for ln in errors), proc.stderr
    events = log_events(proc.stderr)
    done = [e for e in events if e["event"] == "job_done"]
    assert len(done) == 1 and set(done[0]["timings"]) >= {"probe", "extract", "transcribe", "cues", "write"}
    assert len([e for e in events if e["event"] == "job_failed"]) == 4
    noise = [ln for ln in proc.stderr.splitlines() if not ln.startswith(("{", "error: "))]
    assert noise == [], "off a terminal, stderr holds only JSON log lines and error lines"
    assert wer(JFK, json.loads((tmp_path / "jfk.en.json").read_text(encoding="utf-8"))["text"]) <= 0.05


@pytest.mark.slow
def test_defaults_write_srt_with_best_offline_model(jfk):
    proc = ingest("process", jfk)
    assert proc.returncode == 0, proc.stderr
    assert (jfk.parent / "jfk.en.srt").is_file()
    loading = [e for e in log_events(proc.stderr) if e["event"] == "model_loading"]
    assert loading and loading[0]["model"] == "base"


def test_bad_configuration_stops_before_any_work(jfk):
    proc = ingest("process", jfk, env={"INGEST_TRANSCRIBE__DEVICE": "gpu"})
    assert proc.returncode == 2
    assert "transcribe.device (or INGEST_TRANSCRIBE__DEVICE) = 'gpu': must be auto, cpu, cuda or cuda:N" in proc.stderr
    assert sorted(p.name for p in jfk.parent.iterdir()) == ["jfk.flac"]
    proc = ingest("process", jfk, "--format", "srt,docx")
    assert proc.returncode == 2 and "'docx' is not written by any plugin" in proc.stderr


@pytest.mark.slow
def test_existing_output_needs_overwrite(jfk):
    mine = jfk.parent / "jfk.en.srt"
    mine.write_text("keep me\n", encoding="utf-8")
    proc = ingest("process", jfk, "--model", "tiny.en", "--language", "en")
    assert proc.returncode == 1
    assert f"{mine} already exists (use --overwrite to replace)" in proc.stderr
    assert mine.read_text(encoding="utf-8") == "keep me\n"
    proc = ingest("process", jfk, "--model", "tiny.en", "--overwrite")
    assert proc.returncode == 0, proc.stderr
    assert mine.read_text(encoding="utf-8").startswith("1\n")


def test_permissions_are_reported_per_file(shared_media, tmp_path):
    """Unreadable file and unwritable folder, with root's bypass dropped (see unprivileged)."""
    locked = tmp_path / "locked"
    locked.mkdir()
    readonly_media = Path(shutil.copy(shared_media / "jfk.flac", locked / "jfk.flac"))
    unreadable = Path(shutil.copy(shared_media / "jfk.flac", tmp_path / "secret.flac"))
    unreadable.chmod(0)
    locked.chmod(0o555)
    good = Path(shutil.copy(shared_media / "jfk.flac", tmp_path / "good.flac"))
    try:
        proc = ingest("process", readonly_media, unreadable, good, "--model", "tiny.en", prefix=unprivileged.prefix())
    finally:
        locked.chmod(0o755)
    assert proc.returncode == 1
    assert f"{readonly_media}: write failed: cannot write to folder {locked}: permission denied" in proc.stderr
    assert f"{unreadable}: permission denied (cannot read)" in proc.stderr
    assert (tmp_path / "good.en.srt").is_file()
    assert sorted(p.name for p in locked.iterdir()) == ["jfk.flac"]


@pytest.mark.slow
def test_doctor_reports_tools_engines_models(tmp_path):
    proc = ingest("doctor")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for text in (
        "ffmpeg:",
        "ffprobe:",
        "gpu:",
        "engine faster-whisper: cpu, int8; offline models: base, tiny.en",
        "engine openai-whisper: cpu, float32; offline models: base, tiny.en",
        "setting 'auto' for faster-whisper → base",
        "models folder:",
    ):
        assert text in proc.stdout, proc.stdout


def test_plugins_lists_builtins():
    proc = ingest("plugins")
    assert proc.returncode == 0
    names = {line.split()[0] for line in proc.stdout.splitlines()}
    assert names >= {"faster_whisper", "srt", "vtt", "txt", "json"}


@pytest.mark.slow
def test_progress_bar_on_a_terminal_only(jfk):
    """``script`` gives the command a pseudo-terminal, as a person at a shell has."""
    cmd = shlex.join([sys.executable, "-m", "ingest", "process", str(jfk), "--model", "tiny.en"])
    proc = subprocess.run(
        ["script", "-qec", cmd, "/dev/null"], capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stdout
    assert "jfk.flac" in proc.stdout and "11/11 s" in proc.stdout, proc.stdout
    assert "job_done" in proc.stdout  # console log lines, not JSON, on a terminal
    assert '{"' not in proc.stdout


@pytest.mark.slow
def test_openai_whisper_engine_from_the_command_line(jfk):
    proc = ingest("process", jfk, "--engine", "openai-whisper", "--model", "tiny.en", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((jfk.parent / "jfk.en.json").read_text(encoding="utf-8"))
    assert (doc["engine"], doc["model"]) == ("openai-whisper", "tiny.en")
    assert wer(JFK, doc["text"]) <= 0.05


@pytest.mark.slow
def test_models_list_verify_convert(tmp_path):
    env = {"XDG_DATA_HOME": str(tmp_path / "data")}
    listed = ingest("models", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = {tuple(line.split()[:3]) for line in listed.stdout.splitlines()}
    assert {("base", "faster-whisper", "shipped"), ("tiny.en", "faster-whisper", "shipped")} <= rows
    assert {("base", "openai-whisper", "converted"), ("tiny.en", "openai-whisper", "converted")} <= rows
    models = tmp_path / "data" / "ingest" / "models"
    converted = ingest("models", "convert", models / "base", tmp_path / "base.pt", env=env)
    assert converted.returncode == 0, converted.stderr
    assert (tmp_path / "base.pt").is_file() and (tmp_path / "base.pt.sha256").is_file()
    shutil.copy(tmp_path / "base.pt", models / "base" / "openai-whisper.pt")
    shutil.copy(tmp_path / "base.pt.sha256", models / "base" / "openai-whisper.pt.sha256")
    verified = ingest("models", "verify", env=env)
    assert verified.returncode == 0, verified.stdout
    assert "base/model.bin: sha256 matches the shipped weights" in verified.stdout
    assert "base/openai-whisper.pt: sha256 matches" in verified.stdout
    with (models / "base" / "openai-whisper.pt").open("r+b") as fh:  # one flipped byte
        fh.seek(1000)
        byte = fh.read(1)
        fh.seek(1000)
        fh.write(bytes([byte[0] ^ 0xFF]))
    broken = ingest("models", "verify", env=env)
    assert broken.returncode == 1 and "[FAIL]" in broken.stdout and "openai-whisper.pt: sha256" in broken.stdout


@pytest.mark.slow
def test_demo_runs_the_daemon_and_can_run_again(tmp_path):
    """The README's first command ends with this; a second run must not trip on the first."""
    for _ in range(2):
        proc = ingest("demo", "--dir", tmp_path / "demo", env={"INGEST_TRANSCRIBE__MODEL": "tiny.en"})
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "demo: wrote" in proc.stdout
    srt = tmp_path / "demo" / "inbox" / "ingest demo.en.srt"
    assert srt.read_text(encoding="utf-8").startswith("1\n")
