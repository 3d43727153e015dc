from __future__ import annotations

import stat
import subprocess
import sys

import pytest

from ingest.errors import OutputExistsError, StageError
from ingest.subtitles import outputs
from tests.support import unprivileged


def test_write_is_atomic_and_leaves_no_temp(tmp_path):
    media = tmp_path / "a.mkv"
    path = outputs.write_text(media, tmp_path / "a.en.srt", "hello\n")
    assert path.read_text(encoding="utf-8") == "hello\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.en.srt"]
    mode = stat.S_IMODE(path.stat().st_mode)
    assert mode & 0o044, "media servers run as other users: outputs must be readable"


def test_never_overwrites_without_permission(tmp_path):
    target = tmp_path / "a.en.srt"
    target.write_text("mine", encoding="utf-8")
    with pytest.raises(OutputExistsError, match="already exists"):
        outputs.write_text(tmp_path / "a.mkv", target, "theirs")
    assert target.read_text(encoding="utf-8") == "mine"
    assert [p.name for p in tmp_path.iterdir()] == ["a.en.srt"]
    outputs.write_text(tmp_path / "a.mkv", target, "new", overwrite=True)
    assert target.read_text(encoding="utf-8") == "new"


def test_rollback_removes_what_the_job_wrote(tmp_path):
    media = tmp_path / "a.mkv"
    keep = tmp_path / "user.srt"
    keep.write_text("user", encoding="utf-8")
    with pytest.raises(StageError), outputs.rollback_on_error():
        outputs.write_text(media, tmp_path / "a.en.srt", "one")
        raise StageError("write", media, "disk full")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["user.srt"]


def test_missing_folder_is_a_stage_error_naming_the_media(tmp_path):
    media = tmp_path / "a.mkv"
    with pytest.raises(StageError, match=r"a\.mkv: write failed: cannot create a file in"):
        outputs.write_text(media, tmp_path / "nope" / "a.en.srt", "x")
    outputs.check_folder(media, tmp_path / "new" / "sub")  # an output folder is made when missing
    assert (tmp_path / "new" / "sub").is_dir()
    (tmp_path / "file").write_text("", encoding="utf-8")
    with pytest.raises(StageError, match=r"cannot create output folder .*/file/sub: Not a directory"):
        outputs.check_folder(media, tmp_path / "file" / "sub")


def test_unwritable_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o555)
    code = (
        "import sys; from pathlib import Path; from ingest.subtitles import outputs\n"
        "from ingest.errors import StageError\n"
        "try: outputs.check_folder(Path('a.mkv'), Path(sys.argv[1]))\n"
        "except StageError as e: print(e); sys.exit(3)\n"
    )
    proc = subprocess.run(
        [*unprivileged.prefix(), sys.executable, "-c", code, str(folder)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 3, proc.stderr
    assert f"cannot write to folder {folder}: permission denied" in proc.stdout


@pytest.mark.parametrize(
    ("seconds", "sep", "text"),
    [(0, ".", "00:00:00.000"), (3661.2346, ",", "01:01:01,235"), (-1, ".", "00:00:00.000")],
)
def test_clock(seconds, sep, text):
    assert outputs.clock(seconds, sep) == text


def test_orphaned_temp_files_are_removed_but_fresh_ones_kept(tmp_path):
    """A kill -9 in the milliseconds of a write leaves a hidden temp; a live write is young."""
    import os
    import time

    old = tmp_path / "sub" / ".a.en.srt.x1.ingest-tmp"
    old.parent.mkdir()
    old.write_text("half", encoding="utf-8")
    stale = time.time() - 3600
    os.utime(old, (stale, stale))
    fresh = tmp_path / ".b.en.srt.x2.ingest-tmp"
    fresh.write_text("writing", encoding="utf-8")
    keep = tmp_path / "c.en.srt"
    keep.write_text("mine", encoding="utf-8")
    os.utime(keep, (stale, stale))
    assert outputs.remove_orphans(tmp_path) == [old]
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [".b.en.srt.x2.ingest-tmp", "c.en.srt"]
