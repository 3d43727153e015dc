"""A hostile library (issue 15), the settings' part: a secret pasted into the config file,
an ``INGEST_`` variable one underscore short, an output folder spelled with ``..``.
Real files, real ``ingest`` processes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ingest import settings
from ingest.errors import ConfigError
from ingest.ledger.sqlite import Ledger
from ingest.settings import environment, options

ROOT = Path(__file__).resolve().parents[2]
LEAK = "s3cr3t-LEAKED-value"
# Where users are told which variables to set; none of them may be one ingest ignores.
DOCUMENTED = ["README.md", "Dockerfile", "compose.yaml", "config", "container", "systemd", "docs", "scripts", "plugins"]


def ingest(*args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None):
    cmd = [sys.executable, "-m", "ingest", *map(str, args)]
    full_env = {**os.environ, "INGEST_LOG_FORMAT": "json", **(env or {})}
    return subprocess.run(cmd, capture_output=True, text=True, env=full_env, cwd=cwd, timeout=300, check=False)


def events(stderr: str, name: str) -> list[dict]:
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return [e for e in lines if e["event"] == name]


# -- a secret in the config file -------------------------------------------------------
ANY_SECRET = "secrets go in the environment or the env file, never the config file (ingest reads INGEST_APPRISE_URLS"


@pytest.mark.parametrize(
    "toml, key, says",
    [
        (f'[transcribe]\nhf_token = "hf_{LEAK}"\n', "transcribe.hf_token", "set INGEST_HF_TOKEN there"),
        (f'[[watches]]\npath = "."\nplex_token = "{LEAK}"\n', "watches.0.plex_token", "set INGEST_PLEX_TOKEN there"),
        (f'[output]\napi_key = "{LEAK}"\n', "output.api_key", ANY_SECRET),
        (f'[daemon]\npassword = "{LEAK}"\n', "daemon.password", ANY_SECRET),
        (f'webhook_secret = "{LEAK}"\n', "webhook_secret", ANY_SECRET),
        (f'[notify]\napprise_urls = "tgram://{LEAK}/42"\n', "notify", ANY_SECRET),
        (f'[[watches]]\npath = "."\nfeed_base_url = ["https://me:{LEAK}@cdn.example/"]\n', "feed_base_url", ""),
    ],
)
def test_a_secret_in_the_config_file_is_named_never_echoed(tmp_path, toml, key, says):
    """The refusal printed the value: into a terminal, a bug report, a journal."""
    config = tmp_path / "ingest.toml"
    config.write_text(toml, encoding="utf-8")
    proc = ingest("status", "--config", config, "--state-dir", tmp_path / "state")
    assert proc.returncode == 2, proc.stderr
    assert key in proc.stderr and "'**********'" in proc.stderr
    assert LEAK not in proc.stderr + proc.stdout
    assert says in proc.stderr


def test_a_secret_like_variable_is_not_echoed_either(monkeypatch):
    monkeypatch.setenv("INGEST_TRANSCRIBE__API_TOKEN", LEAK)
    with pytest.raises(ConfigError) as err:
        settings.load()
    assert "transcribe.api_token (or INGEST_TRANSCRIBE__API_TOKEN) = '**********': unknown key" in str(err.value)
    assert LEAK not in str(err.value)


# -- an INGEST_ variable no setting reads ----------------------------------------------
def test_unknown_variables_are_found_with_the_name_they_meant():
    environ = {
        "INGEST_TRANSCRIBE_MODEL": "tiny",  # one underscore short
        "INGEST_WORKRES": "2",
        "INGEST_QWERTY": "1",
        "INGEST_LOG_LEVEL__X": "1",  # a plain setting has no keys below it
        "INGEST_TRANSCRIBE__MODEL": "tiny",
        "ingest_daemon__workers": "1",  # pydantic-settings reads names without case
        "INGEST_TRANSCRIBE": "{}",  # a section whole, as JSON
        "INGEST_PLUGINS__WEBHOOK__URLS": "https://example.org",  # the plugin validates its table
        "INGEST_HF_TOKEN": "x",
        "INGEST_CONFIG": "/etc/ingest/ingest.toml",
        "INGEST_ENV_FILE": "/etc/ingest/ingest.env",
        "INGEST_SKIP_DEMO": "1",  # scripts/setup.sh
        "PATH": "/usr/bin",
    }
    assert environment.unknown(environ, settings.Settings) == [
        ("INGEST_LOG_LEVEL__X", "INGEST_LOG_LEVEL"),
        ("INGEST_QWERTY", None),
        ("INGEST_TRANSCRIBE_MODEL", "INGEST_TRANSCRIBE__MODEL"),
        ("INGEST_WORKRES", "INGEST_DAEMON__WORKERS"),
    ]


def test_every_variable_the_documentation_names_is_read():
    """The allow-list comes from the settings model; this keeps it honest against what the
    README, the example configuration, the unit, the container and the plugins tell users."""
    named = set()
    for top in DOCUMENTED:
        path = ROOT / top
        for file in [path] if path.is_file() else [f for f in path.rglob("*") if f.is_file()]:
            if "__pycache__" not in file.parts:
                named |= set(re.findall(r"\bINGEST_[A-Z0-9_]*[A-Z0-9]\b", file.read_text(errors="replace")))
    assert "INGEST_TRANSCRIBE__MODEL" in named
    assert environment.unknown(dict.fromkeys(named, ""), settings.Settings) == []


def test_an_unknown_variable_is_a_warning_naming_it_never_its_value(tmp_path):
    """pydantic-settings ignored it without a word; it must not stop ingest either."""
    state = tmp_path / "state"
    state.mkdir()
    Ledger(state / "ledger.sqlite3").close()
    proc = ingest("status", "--state-dir", state, env={"INGEST_TRANSCRIBE_MODEL": LEAK})
    assert proc.returncode == 0, proc.stderr
    [warning] = events(proc.stderr, "unknown_setting_variable")
    assert (warning["variable"], warning["nearest"]) == ("INGEST_TRANSCRIBE_MODEL", "INGEST_TRANSCRIBE__MODEL")
    assert warning["level"] == "warning"
    assert proc.stdout.startswith("pending: 0")  # the log stays off status's own output
    assert LEAK not in proc.stderr + proc.stdout


@pytest.mark.slow  # doctor imports every engine
def test_doctor_lists_an_unknown_variable():
    proc = ingest("doctor", env={"INGEST_WORKRES": LEAK})
    assert "Traceback" not in proc.stderr, proc.stderr
    assert (
        "[warn] environment: INGEST_WORKRES: no setting reads this variable (did you mean INGEST_DAEMON__WORKERS?)"
        in proc.stdout
    )
    assert LEAK not in proc.stderr + proc.stdout


# -- an output folder spelled with .. --------------------------------------------------
def test_output_folders_are_absolute_and_without_dot_dot(tmp_path, monkeypatch):
    """Given as written, ``mkdir(parents=True)`` of ``a/../b`` made an empty ``a`` as well."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = tmp_path / "ingest.toml"
    config.write_text(
        '[output]\noutput_dir = "a/../b"\n'
        '[[watches]]\npath = "lib"\noutput_dir = "c/../d"\n'
        '[[watches]]\npath = "drop"\nmode = "dropfolder"\noutbox = "e/../out"\ndone_dir = "~/done"\n',
        encoding="utf-8",
    )
    conf = settings.load(config)
    assert conf.output.output_dir == tmp_path / "b"
    assert conf.watches[0].output_dir == tmp_path / "d"
    assert conf.watches[1].dropfolder_dirs()[:2] == (tmp_path / "out", tmp_path / "home/done")
    assert options.job_options(conf, tmp_path / "lib/ep.mkv").output_dir == tmp_path / "d"
    assert settings.load(config, output={"output_dir": "x/../y"}).output.output_dir == tmp_path / "y"  # --output-dir


@pytest.mark.slow  # a whole job
def test_process_with_dot_dot_in_the_output_dir_leaves_no_stray_folder(tmp_path, shared_media):
    media = Path(shutil.copy(shared_media / "jfk.flac", tmp_path / "jfk.flac"))
    proc = ingest("process", media, "--output-dir", "a/../b", "--model", "tiny.en", "--language", "en", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"{media}: wrote {tmp_path / 'b' / 'jfk.en.srt'}"
    assert not (tmp_path / "a").exists()


def test_a_plugin_setting_refused_does_not_echo_a_secret(tmp_path):
    config = tmp_path / "ingest.toml"
    config.write_text('[plugins.jellyfin]\nurl = "http://media:8096"\ntimeout = "https://me:hunter2@x/"\n')
    proc = ingest("--config", config, "plugins")
    assert proc.returncode == 2, proc.stderr
    assert "plugins.jellyfin.timeout" in proc.stderr and "hunter2" not in proc.stderr
