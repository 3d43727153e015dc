"""Names a library really holds (issue 15): bytes that are not UTF-8, from old SMB shares,
and media that are symlinks into a store. Real files, real ffmpeg, real daemon processes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ingest.ledger.fingerprint import fingerprint
from ingest.ledger.sqlite import Ledger
from ingest.paths import located, shown
from tests.daemon.test_hostile import ingest_cli
from tests.daemon.test_service import (  # noqa: F401 - fixtures
    counts,
    jfk_src,
    library,
    procs,
    srt_text,
    start_daemon,
    start_with_config,
    state,
    status,
    write_config,
)

BAD = os.fsdecode(b"bad\xff\xfename")  # Latin-1 bytes, as an old Samba share writes them


def test_shown_writes_each_foreign_byte_as_an_escape():
    assert shown(Path("/lib") / f"{BAD}.mkv") == "/lib/bad\\xff\\xfename.mkv"
    assert shown("Ünïcødé.mkv") == "Ünïcødé.mkv"


def test_the_ledger_keeps_a_name_that_is_not_utf8_beside_the_others(tmp_path):
    folder = tmp_path / os.fsdecode(b"caf\xe9")  # the folder too, so both ranges are searched
    folder.mkdir()
    bad, good = folder / f"{BAD}.mkv", tmp_path / "good.mkv"
    for path in (bad, good):
        path.write_bytes(b"media")
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        assert ledger.observe(bad, fingerprint(bad), watch=str(folder))
        assert ledger.observe(good, fingerprint(good), watch=str(tmp_path))
        assert not ledger.observe(bad, fingerprint(bad))  # known: not new work twice
        assert ledger.known(tmp_path) == {bad, good}
        assert ledger.known(folder) == {bad}
        entry = ledger.claim("me", 60, under=folder)
        assert entry is not None and entry.path == bad and entry.watch == str(folder)
        sidecar = folder / f"{BAD}.en.srt"
        sidecar.write_text("1\n")
        ledger.finish_done(bad, "me", [sidecar])
        assert ledger.get(bad).state == "done"
        assert ledger.outputs_of(bad) == [sidecar]
        assert ledger.owned_output(sidecar)
        ledger.forget(bad)
        assert ledger.known(tmp_path) == {good}


def test_a_failure_naming_such_a_file_is_stored_readably(tmp_path):
    bad = tmp_path / f"{BAD}.mkv"
    bad.write_bytes(b"x")
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        ledger.observe(bad, fingerprint(bad))
        ledger.claim("me", 60)
        ledger.finish_failed(bad, "me", f"{bad}: not a readable media file", 1, lambda n: 0.0)
        assert ledger.get(bad).last_error == f"{shown(bad)}: not a readable media file"


@pytest.mark.slow  # a whole job through the CLI
def test_process_writes_the_sidecar_under_the_same_bytes(tmp_path, jfk_src):  # noqa: F811
    media = Path(shutil.copy(jfk_src, tmp_path / f"{BAD}.flac"))
    proc = ingest_cli("process", media, "--format", "srt,json")
    assert proc.returncode == 0, proc.stderr
    assert sorted(os.listdir(os.fsencode(tmp_path))) == [
        b"bad\xff\xfename.en.json",
        b"bad\xff\xfename.en.srt",
        b"bad\xff\xfename.flac",
    ]
    assert "bad\\xff\\xfename.en.srt" in proc.stdout
    assert "fellow americans" in srt_text(tmp_path / f"{BAD}.en.srt").lower()


@pytest.mark.slow  # a real daemon process
def test_the_daemon_serves_such_names_and_the_files_after_them(procs, state, library, jfk_src):  # noqa: F811
    """One there at start (reconcile), one dropped while watching (settle), a good file
    after each: all four transcribed, no thread dies, ``ingest status`` names them."""
    early = Path(shutil.copy(jfk_src, library / f"{BAD} 1.flac"))
    after_early = Path(shutil.copy(jfk_src, library / "z after.flac"))
    daemon = start_daemon(procs, state, library)
    late = Path(shutil.copy(jfk_src, library / f"{BAD} 2.flac"))
    after_late = Path(shutil.copy(jfk_src, library / "zz after.flac"))
    for media in (early, after_early, late, after_late):
        done = daemon.wait_for("job_done", file=shown(media), timeout=180)
        assert done["outputs"] == [shown(media.with_suffix("")) + ".en.srt"]
        assert media.with_suffix(".en.srt").exists()
    assert daemon.stop() == 0
    assert "Traceback" not in daemon.tail(400)
    text = status(procs, state)
    assert counts(text)["done"] == 4


@pytest.mark.slow  # a real scan process
def test_scan_backfills_such_names(tmp_path, jfk_src):  # noqa: F811
    media = Path(shutil.copy(jfk_src, tmp_path / f"{BAD}.flac"))
    proc = ingest_cli("scan", tmp_path, "--state-dir", tmp_path / "state")
    assert proc.returncode == 0, proc.stderr
    assert media.with_suffix(".en.srt").exists()
    dry = ingest_cli("scan", tmp_path, "--dry-run", "--state-dir", tmp_path / "state2")
    assert "bad\\xff\\xfename.flac" in dry.stdout


def test_located_keeps_the_link_and_resolves_its_folder(tmp_path):
    store, shows = tmp_path / "store", tmp_path / "shows"
    store.mkdir()
    shows.mkdir()
    (store / "abc123.mkv").write_bytes(b"x")
    link = shows / "Show S01E01.mkv"
    link.symlink_to(store / "abc123.mkv")
    os.symlink(shows, tmp_path / "alias")
    assert located(tmp_path / "alias" / ".." / "shows" / "Show S01E01.mkv") == link
    assert located(tmp_path / "alias" / "Show S01E01.mkv") == link


@pytest.fixture
def linked(tmp_path, jfk_src):  # noqa: F811
    """``shows/Show S01E01.flac``, a symlink to ``store/abc123.flac`` (as a download manager
    that keeps one copy leaves it)."""
    store, shows = tmp_path / "store", tmp_path / "shows"
    store.mkdir()
    shows.mkdir()
    target = Path(shutil.copy(jfk_src, store / "abc123.flac"))
    link = shows / "Show S01E01.flac"
    link.symlink_to(target)
    return link


def watch_config(tmp_path: Path, watch: Path) -> Path:
    """SRT for everything, but WebVTT for this watch: what the link must get."""
    config = write_config(tmp_path / "ingest.toml", watch, formats="srt")
    config.write_text(config.read_text() + 'formats = ["vtt"]\n')
    return config


@pytest.mark.slow  # a whole job through the CLI
def test_process_of_a_link_writes_beside_the_link_under_its_name(linked, tmp_path):
    config = watch_config(tmp_path, linked.parent)
    proc = ingest_cli("--config", config, "process", linked)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in linked.parent.iterdir()) == ["Show S01E01.en.vtt", "Show S01E01.flac"]
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == ["abc123.flac"]


@pytest.mark.slow  # a real daemon process
def test_the_daemon_gives_a_link_its_watchs_settings(procs, state, linked, tmp_path):  # noqa: F811
    config = watch_config(tmp_path, linked.parent)
    daemon = start_with_config(procs, state, config)
    done = daemon.wait_for("job_done", file=str(linked), timeout=180)
    assert done["outputs"] == [str(linked.parent / "Show S01E01.en.vtt")]
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == ["abc123.flac"]
    assert daemon.stop() == 0
