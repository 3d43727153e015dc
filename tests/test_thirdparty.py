"""Third-party plugins as a user installs them: real distributions, real entry points.

``tests/thirdparty/ingest-hello`` and ``ingest-broken`` are built and installed with
pip into a folder outside the package, once per session, and the real ``ingest``
command runs with that folder on ``PYTHONPATH``: nothing is registered by hand.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.subtitles import outputs
from tests.support.wer import JFK, wer

DISTS = Path(__file__).resolve().parent / "thirdparty"


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both distributions pip-installed into a fresh folder (built from copies: the tree stays clean)."""
    if importlib.util.find_spec("setuptools.command.bdist_wheel") is None:
        pytest.fail("building the test plugins needs setuptools>=70.1 in .venv: run scripts/setup.sh")
    root = tmp_path_factory.mktemp("thirdparty")
    sources = [Path(shutil.copytree(DISTS / name, root / "src" / name)) for name in ("ingest-hello", "ingest-broken")]
    target = root / "site"
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index"]
    proc = subprocess.run(
        [*cmd, "--target", str(target), *map(str, sources)], capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return target


def ingest(site: Path, *args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": str(site), **(env or {})}
    cmd = [sys.executable, "-m", "ingest", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=300, check=False)


def events(stderr: str, name: str) -> list[dict]:
    found = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return [e for e in found if e["event"] == name]


def journal(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def jfk(shared_media: Path, tmp_path: Path) -> Path:
    media = tmp_path / "media"
    media.mkdir()
    return Path(shutil.copy(shared_media / "jfk.flac", media / "jfk.flac"))


def config(tmp_path: Path, **hello: object) -> Path:
    """A settings file with a ``[plugins.hello]`` table (TOML literals given as text)."""
    lines = ["[plugins.hello]", *(f"{key} = {value}" for key, value in hello.items())]
    path = tmp_path / "ingest.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_plugins_lists_third_party_and_broken_ones(site):
    proc = ingest(site, "plugins")
    assert proc.returncode == 0, proc.stderr
    rows = [line.split(None, 4) for line in proc.stdout.splitlines()]
    assert rows[0] == ["NAME", "VERSION", "SOURCE", "MODULE", "STATE"]
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name["hello"] == ["hello", "0.3.1", "ingest-hello", "ingest_hello", "enabled"]
    broken = by_name["broken"]
    assert broken[1:4] == ["0.0.1", "ingest-broken", "ingest_broken"]
    assert broken[4].startswith("failed: ImportError(") and "nosuchlib" in broken[4]
    assert by_name["srt"][4] == "enabled", "a broken plugin does not stop the others"
    failed = events(proc.stderr, "plugin_load_failed")
    assert [(e["plugin"], e["module"]) for e in failed] == [("broken", "ingest_broken")]
    assert "nosuchlib" in failed[0]["error"]


@pytest.mark.slow
def test_plugins_can_be_disabled_by_name(site):
    proc = ingest(site, "plugins", env={"INGEST_DISABLED_PLUGINS": "hello,broken"})
    assert proc.returncode == 0, proc.stderr
    states = {line.split()[0]: line.split(None, 4)[4] for line in proc.stdout.splitlines()[1:]}
    assert states["hello"] == "disabled" and states["broken"] == "disabled"
    assert events(proc.stderr, "plugin_load_failed") == [], "a disabled plugin is never imported"


@pytest.mark.slow
def test_hello_hooks_run_in_a_real_job(site, jfk, tmp_path):
    """Settings from TOML and env reach ingest_startup; accept, write and finish run."""
    log_file = tmp_path / "hello.jsonl"
    skipped = Path(shutil.copy(jfk, jfk.with_name("skipme.flac")))
    conf = config(tmp_path, log_file=json.dumps(str(log_file)))
    env = {"INGEST_PLUGINS__HELLO__GREETING": "Howdy"}
    proc = ingest(
        site, "process", jfk, skipped, "--config", conf, "--model", "tiny.en", "--format", "srt,hello", env=env
    )
    assert proc.returncode == 0, proc.stderr
    hello_txt = jfk.with_name("jfk.en.hello.txt")
    assert proc.stdout.splitlines() == [
        f"{jfk}: wrote {hello_txt}, {jfk.with_name('jfk.en.srt')}",
        f"{skipped}: skipped: hello: the name contains 'skipme'",
    ]
    greeting, _, text = hello_txt.read_text(encoding="utf-8").partition("! ")
    assert greeting == "Howdy" and wer(JFK, text) <= 0.05
    assert sorted(p.name for p in jfk.parent.iterdir()) == ["jfk.en.hello.txt", "jfk.en.srt", "jfk.flac", "skipme.flac"]
    calls = journal(log_file)
    assert [c["hook"] for c in calls] == [
        "ingest_startup",
        "ingest_job_finished",
        "ingest_job_finished",
        "ingest_shutdown",
    ]
    assert calls[0] == {"hook": "ingest_startup", "command": "process", "greeting": "Howdy"}
    assert (calls[1]["file"], calls[1]["status"]) == ("jfk.flac", "done")
    assert calls[2] == {
        "hook": "ingest_job_finished",
        "file": "skipme.flac",
        "status": "skipped",
        "error": "hello: the name contains 'skipme'",
    }


@pytest.mark.slow
def test_bad_plugin_setting_stops_before_any_work(site, jfk, tmp_path):
    proc = ingest(site, "process", jfk, "--config", config(tmp_path, explode='"maybe"'))
    assert proc.returncode == 2
    assert "plugins.hello.explode (or INGEST_PLUGINS__HELLO__EXPLODE) = 'maybe'" in proc.stderr
    assert "valid boolean" in proc.stderr
    proc = ingest(site, "process", jfk, env={"INGEST_PLUGINS__HELLO__GRETING": "Hi"})
    assert proc.returncode == 2
    assert "plugins.hello.greting (or INGEST_PLUGINS__HELLO__GRETING) = 'Hi': Extra inputs" in proc.stderr
    assert sorted(p.name for p in jfk.parent.iterdir()) == ["jfk.flac"]


@pytest.mark.slow
def test_failing_job_finished_does_not_fail_the_job(site, jfk, tmp_path):
    log_file = tmp_path / "hello.jsonl"
    conf = config(tmp_path, explode="true", log_file=json.dumps(str(log_file)))
    proc = ingest(site, "process", jfk, "--config", conf, "--model", "tiny.en", "--format", "hello")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"{jfk}: wrote {jfk.with_name('jfk.en.hello.txt')}"
    assert [e["status"] for e in events(proc.stderr, "job_done")] == ["done"]
    failures = events(proc.stderr, "plugin_hook_failed")
    assert [(e["plugin"], e["hook"]) for e in failures] == [("hello", "ingest_job_finished")]
    assert "exploded on purpose" in failures[0]["error"]
    assert [c["hook"] for c in journal(log_file)][-2:] == ["ingest_job_finished", "ingest_shutdown"]


@pytest.mark.slow
def test_disabled_plugin_hooks_do_not_run(site, jfk, tmp_path):
    """Its settings table may stay in the file; none of its hooks is called."""
    log_file = tmp_path / "hello.jsonl"
    conf = config(tmp_path, log_file=json.dumps(str(log_file)))
    env = {"INGEST_DISABLED_PLUGINS": "hello"}
    proc = ingest(site, "process", jfk, "--config", conf, "--model", "tiny.en", "--format", "srt", env=env)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in jfk.parent.iterdir()) == ["jfk.en.srt", "jfk.flac"]
    assert not log_file.exists(), "ingest_startup and ingest_job_finished of a disabled plugin ran"
    assert [e["plugin"] for e in events(proc.stderr, "plugin_settings_ignored")] == ["hello"]
    proc = ingest(site, "process", jfk, "--config", conf, "--format", "hello", env=env)
    assert proc.returncode == 2 and "'hello' is not written by any plugin" in proc.stderr


def test_a_format_declares_its_file_ending():
    """What ingest_hello does at import; a second, different ending for one format is refused."""
    outputs.declare_extension("greeting-test", "greeting.txt")
    outputs.declare_extension("greeting-test", "greeting.txt")  # the same again: harmless
    with pytest.raises(ValueError, match=r"already ends in \.greeting\.txt"):
        outputs.declare_extension("greeting-test", "txt")
    with pytest.raises(ValueError, match="must be a plain ending"):
        outputs.declare_extension("other-test", "../escape")
    with pytest.raises(ValueError, match="must be a plain ending"):
        outputs.declare_extension("other-test", ".txt")
