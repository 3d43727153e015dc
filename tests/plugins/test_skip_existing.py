"""The skip_existing filter on real folders and on media with subtitle streams muxed by
ffmpeg at test time and probed by the real ffprobe; then the whole path through a real
daemon (ledger, ``ingest status``) and a real ``ingest process``."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from ingest_plugins import skip_existing

from ingest import pipeline, plugins, settings
from ingest.errors import ConfigError, Skipped
from ingest.media import probe as media_mod
from ingest.models import Job
from ingest.settings.options import job_options
from ingest.testing import fresh_host
from tests.support import mediafactory as mf
from tests.support.daemonproc import Processes

SRT = "1\n00:00:00,500 --> 00:00:02,000\nHello there.\n"


# -- media ---------------------------------------------------------------------------------
def pgs_sup(path: Path) -> Path:
    """A minimal HDMV PGS (Blu-ray bitmap subtitle) file: one 8x2 picture shown at 0.5 s.

    ffmpeg can turn bitmap subtitles into other bitmap subtitles, never text into bitmaps,
    so a bitmap source is written by hand: segments of composition, window, palette,
    object (run-length coded) and end, as the format lays them out.
    """

    def segment(kind: int, data: bytes) -> bytes:
        return b"PG" + struct.pack(">IIBH", 45_000, 0, kind, len(data)) + data

    rows = (bytes([0, 0x80 | 8, 1, 0, 0])) * 2  # 8 pixels of colour 1, end of line; twice
    composition = struct.pack(">HHBHBBBB", 160, 120, 0x10, 0, 0x80, 0, 0, 1) + struct.pack(">HBBHH", 0, 0, 0, 10, 10)
    window = struct.pack(">BBHHHH", 1, 0, 10, 10, 8, 2)
    palette = bytes([0, 0, 1, 235, 128, 128, 255])
    picture = struct.pack(">HBB", 0, 0, 0xC0) + (len(rows) + 4).to_bytes(3, "big") + struct.pack(">HH", 8, 2) + rows
    kinds = ((0x16, composition), (0x17, window), (0x14, palette), (0x15, picture), (0x80, b""))
    path.write_bytes(b"".join(segment(kind, data) for kind, data in kinds))
    return path


def with_subtitles(dest: Path, speech: Path, *streams: tuple[Path, str, str | None, bool]) -> Path:
    """Video (stream 0), English speech (1), then one subtitle stream per (file, codec,
    language tag, forced) from 2 on."""
    args: list[str | Path] = ["-i", speech, "-f", "lavfi", "-i", f"{mf.VIDEO}:d=4"]
    maps = ["-map", "1:v", "-map", "0:a"]
    meta: list[str] = ["-metadata:s:a:0", "language=eng"]
    for n, (source, codec, language, forced) in enumerate(streams):
        args += ["-i", source]
        maps += ["-map", f"{n + 2}:s"]
        meta += [f"-c:s:{n}", codec, f"-disposition:s:{n}", "forced" if forced else "0"]
        meta += [f"-metadata:s:s:{n}", f"language={language}"] if language else []
    mf.ffmpeg(*args, *maps, "-c:v", "mpeg4", "-c:a", "aac", *meta, "-shortest", dest)
    return dest


@pytest.fixture(scope="module")
def made(tmp_path_factory, speech_en_wav) -> dict[str, Path]:
    """Media files by name, each in a folder of its own."""
    src = tmp_path_factory.mktemp("sources")
    srt = src / "hello.srt"
    srt.write_text(SRT, encoding="utf-8")
    sup = pgs_sup(src / "hello.sup")
    out = tmp_path_factory.mktemp("made")
    specs = {
        "plain.mkv": (),
        "subrip_en.mkv": ((srt, "srt", "eng", False),),
        "mov_text_en.mp4": ((srt, "mov_text", "eng", False),),
        "bitmap_en.mkv": ((sup, "dvdsub", "eng", False),),
        "forced_en.mkv": ((srt, "srt", "eng", True),),
        "subrip_de.mkv": ((srt, "srt", "ger", False),),
        "subrip_untagged.mkv": ((srt, "srt", None, False),),
    }
    return {name: with_subtitles(out / name, speech_en_wav, *streams) for name, streams in specs.items()}


def place(src: Path, folder: Path, name: str | None = None, sidecars: tuple[str, ...] = ()) -> Path:
    """A copy of ``src`` in ``folder`` (as ``name``) with these sidecar files beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    media = Path(shutil.copy(src, folder / (name or src.name)))
    for sidecar in sidecars:
        (folder / sidecar).parent.mkdir(parents=True, exist_ok=True)
        (folder / sidecar).write_text(SRT, encoding="utf-8")
    return media


# -- the filter through a fresh plugin host ----------------------------------------------------
def verdict(path: Path, plugin: dict | None = None, conf: dict | None = None, replaceable=(), **options) -> str | None:
    """The skip reason for ``path`` (None: let through), as the pipeline asks after probing."""
    host = fresh_host(skip_existing, config={skip_existing.NAME: plugin or {}})
    config = settings.load(**(conf or {}))
    probed = media_mod.probe(path)
    job = Job(path, replace(job_options(config, path), **options), probed, frozenset(replaceable))
    with host.serving(config):
        try:
            pipeline.accept(host, probed, job)
        except Skipped as skip:
            return skip.reason
    return None


def test_a_sidecar_in_the_spoken_language_skips_the_file_before_any_decoding(made, tmp_path):
    media = place(made["plain.mkv"], tmp_path, "Film (1986).mkv", ("Subs/Film (1986).en.sdh.srt",))
    host = fresh_host(skip_existing)
    config = settings.load()
    with host.serving(config):
        result = pipeline.run(Job(media, job_options(config, media)), config, host)
    assert (result.status, result.error) == ("skipped", 'subtitles exist: "Subs/Film (1986).en.sdh.srt" (en)')
    assert list(result.timings) == ["probe"], "nothing decoded, nothing transcribed"


@pytest.mark.parametrize(
    "sidecar",
    [
        "Film.en.vtt",
        "Film.ENG.srt",
        "Film.English.vtt",
        "Film.en.sdh.srt",
        "Film.cc.en.ass",
        "Film.default.en.ssa",
        "Film.Director's Commentary.en.srt",
        "subs/Film.en.srt",
        "Subtitles/Film.eng.hi.srt",
        "Subs/2_English.srt",
    ],
)
def test_names_plex_and_jellyfin_read_cover_the_language(made, tmp_path, sidecar):
    media = place(made["plain.mkv"], tmp_path, "Film.mkv", (sidecar,))
    assert verdict(media) == f'subtitles exist: "{sidecar}" (en)'


def test_names_that_do_not_cover_the_language_let_the_file_through(made, tmp_path):
    others = (
        "Film.de.srt",  # another language
        "Film.srt",  # no language said
        "Film 2.en.srt",  # another file's
        "Film - part.en.srt",
        "Film.en.forced.srt",  # forced: foreign dialogue only
        "Subs/Film.en.foreign.srt",
        "Film.en.txt",  # a transcript
        "extras/Film.en.srt",  # not a folder either server reads
    )
    media = place(made["plain.mkv"], tmp_path, "Film.mkv", others)
    place(made["plain.mkv"], tmp_path, "Film 2.mkv")
    assert verdict(media) is None
    assert verdict(media, {"ignore_forced": False}) == 'subtitles exist: "Film.en.forced.srt" (en)'


def test_embedded_text_streams_count_as_probed_by_ffprobe(made, tmp_path):
    for name, codec in (("subrip_en.mkv", "subrip"), ("mov_text_en.mp4", "mov_text")):
        media = place(made[name], tmp_path / name)
        (track,) = media_mod.probe(media).subtitle_tracks
        assert (track.index, track.codec, track.language, track.text) == (2, codec, "en", True)
        assert verdict(media) == f"embedded subtitle stream 2 ({codec}, en)"
        assert verdict(media, {"embedded": False}) is None


def test_bitmap_forced_and_other_language_streams_do_not_count(made, tmp_path):
    bitmap = place(made["bitmap_en.mkv"], tmp_path / "bitmap")
    (track,) = media_mod.probe(bitmap).subtitle_tracks
    assert (track.codec, track.language, track.text) == ("dvd_subtitle", "en", False)
    assert verdict(bitmap) is None
    forced = place(made["forced_en.mkv"], tmp_path / "forced")
    assert media_mod.probe(forced).subtitle_tracks[0].forced
    assert verdict(forced) is None
    assert verdict(forced, {"ignore_forced": False}) == "embedded subtitle stream 2 (subrip, en, forced)"
    assert verdict(place(made["subrip_de.mkv"], tmp_path / "de")) is None
    assert verdict(place(made["subrip_untagged.mkv"], tmp_path / "und")) is None, "its language is not known"


def test_the_wanted_language_follows_the_job_and_settings(two_track_mkv, tmp_path):
    """Two audio tracks, German the default: German is wanted unless something says otherwise."""
    media = place(two_track_mkv, tmp_path, "Film.mkv", ("Film.eng.srt",))
    english = 'subtitles exist: "Film.eng.srt" (en)'
    assert verdict(media) is None
    assert verdict(media, conf={"audio": {"track_languages": ["en"]}}) == english
    assert verdict(media, {"languages": "English"}) == english
    assert verdict(media, language="de") is None
    assert verdict(media, language="de", task="translate") == english
    assert verdict(media, {"languages": ["en", "de"]}) is None, "every wanted language must be there"
    (tmp_path / "Film.ger.srt").write_text(SRT, encoding="utf-8")
    both = f'{english}; subtitles exist: "Film.ger.srt" (de)'
    assert verdict(media, {"languages": ["en", "de"]}) == both


def test_any_subtitle_counts_when_no_language_is_known(shared_media, made, tmp_path):
    media = place(shared_media / "jfk.flac", tmp_path / "a", sidecars=("jfk.srt",))
    assert media_mod.probe(media).audio_tracks[0].language is None
    assert verdict(media) == 'subtitles exist: "jfk.srt" (no language in the name)'
    assert verdict(media, {"languages": "fr"}) is None
    untagged = place(made["subrip_untagged.mkv"], tmp_path / "b")
    assert verdict(untagged, {"languages": "en"}) is None
    bare = place(shared_media / "jfk.flac", tmp_path / "c")
    assert verdict(bare) is None


def test_outputs_ingest_wrote_do_not_count_unless_only_those_should(made, tmp_path):
    """``replaceable`` is what the daemon's ledger hands a job queued again (new content,
    ``ingest retry``): outputs ingest wrote for the file that nobody changed since."""
    media = place(made["subrip_en.mkv"], tmp_path, "Film.mkv", ("Film.en.srt", "Film.en.sdh.srt"))
    daemon = {"existing": "skip", "replaceable": {tmp_path / "Film.en.srt"}}
    assert verdict(media, **daemon) == 'subtitles exist: "Film.en.sdh.srt" (en)'
    (tmp_path / "Film.en.sdh.srt").unlink()
    assert verdict(media, {"embedded": False}, **daemon) is None, "the ledger queued it to be redone"
    assert verdict(media, **daemon) == "embedded subtitle stream 2 (subrip, en)"
    only_ours = 'subtitles exist: "Film.en.srt" (en, written by ingest)'
    assert verdict(media, {"only_ingest": True}, **daemon) == only_ours
    assert verdict(media, {"only_ingest": True}, existing="skip") is None, "the user's file and the stream do not"


def test_a_user_file_at_ingests_own_name_follows_the_jobs_existing_policy(made, tmp_path):
    media = place(made["plain.mkv"], tmp_path, "Film.mkv", ("Film.en.srt",))
    mine = tmp_path / "Film.en.srt"
    assert verdict(media, existing="skip") == f"{mine} exists and was not written by ingest; left untouched"
    assert verdict(media, existing="fail") is None, "the pipeline fails it and suggests --overwrite"
    assert verdict(media, existing="fail", language_codes="639-2/B") == 'subtitles exist: "Film.en.srt" (en)'
    assert verdict(media, existing="fail", formats=("vtt",)) == 'subtitles exist: "Film.en.srt" (en)'


def test_overwrite_or_disabled_never_skips(made, tmp_path):
    media = place(made["subrip_en.mkv"], tmp_path, "Film.mkv", ("Film.en.sdh.srt",))
    assert verdict(media, overwrite=True) is None
    assert verdict(media, {"enabled": False}) is None


def test_settings_from_the_environment_and_bad_values(monkeypatch):
    monkeypatch.setenv("INGEST_PLUGINS__SKIP_EXISTING__LANGUAGES", "English, ger")
    monkeypatch.setenv("INGEST_PLUGINS__SKIP_EXISTING__IGNORE_FORCED", "false")
    host = fresh_host(skip_existing, config=settings.load().plugins)
    config = host.settings[skip_existing.NAME]
    assert (config.languages, config.ignore_forced, config.enabled) == (["en", "de"], False, True)
    with pytest.raises(ConfigError, match=r"plugins\.skip_existing\.languages .*'Klingonish' is not an ISO 639"):
        plugins.validate_settings(host, {"skip_existing": {"languages": ["en", "Klingonish"]}})
    with pytest.raises(ConfigError, match=r"plugins\.skip_existing\.only_ingst .*: Extra inputs"):
        plugins.validate_settings(host, {"skip_existing": {"only_ingst": True}})


# -- the whole path ------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_real_daemon_records_the_skips_and_status_shows_them(made, tmp_path):
    """``ingest run`` on a library: two files skipped with their reasons, one transcribed."""
    library, state = tmp_path / "library", tmp_path / "state"
    film = place(made["plain.mkv"], library / "Film (1986)", "Film (1986).mkv", ("Subs/Film (1986).en.sdh.srt",))
    episode = place(made["subrip_en.mkv"], library / "Show", "Show S01E02.mkv")
    other = place(made["plain.mkv"], library / "Show", "Show S01E02 - part.mkv", ("Show S01E02 - part.en.forced.srt",))
    (tmp_path / "logs").mkdir()
    env = {**os.environ, "INGEST_TRANSCRIBE__MODEL": "tiny.en", "INGEST_LOG_FORMAT": "json"}
    procs = Processes(tmp_path / "logs", env)
    try:
        daemon = procs.start("run", "--state-dir", state, "--settle-seconds", "0.5", "--watch", library, name="daemon")
        film_skip = daemon.wait_for("job_skipped", timeout=120, file=str(film))
        episode_skip = daemon.wait_for("job_skipped", timeout=120, file=str(episode))
        done = daemon.wait_for("job_done", timeout=180, file=str(other))
        assert daemon.stop() == 0
    finally:
        procs.cleanup()
    assert film_skip["error"] == 'subtitles exist: "Subs/Film (1986).en.sdh.srt" (en)'
    assert episode_skip["error"] == "embedded subtitle stream 2 (subrip, en)"
    assert "extract" not in film_skip["timings"] and "extract" not in episode_skip["timings"]
    assert done["outputs"] == [str(library / "Show" / "Show S01E02 - part.en.srt")]
    status = procs.run("status", "--state-dir", state)
    assert status.returncode == 0, status.stderr
    assert status.stdout.splitlines()[0] == "pending: 0  running: 0  done: 1  failed: 0  skipped: 2"
    assert f'skipped  {film}: subtitles exist: "Subs/Film (1986).en.sdh.srt" (en)' in status.stdout
    assert f"skipped  {episode}: embedded subtitle stream 2 (subrip, en)" in status.stdout
    assert not (library / "Show" / "Show S01E02.en.srt").exists()


def test_ingest_process_says_why_it_skipped(made, tmp_path):
    media = place(made["mov_text_en.mp4"], tmp_path, "talk.mp4")
    cmd = [sys.executable, "-m", "ingest", "process", str(media), "--model", "tiny.en"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"{media}: skipped: embedded subtitle stream 2 (mov_text, en)"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["talk.mp4"]
