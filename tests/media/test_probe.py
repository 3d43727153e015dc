"""ingest.media.probe: probing real files made at test time, choosing tracks, bad inputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ingest.errors import MediaError
from ingest.media.probe import check_readable, choose_track, ffmpeg_message, probe
from tests.support import mediafactory as mf
from tests.support import unprivileged

REPO = Path(__file__).resolve().parents[2]

# AAC adds encoder priming; containers round to their own time base.
DURATION_SLACK = 0.1


@pytest.fixture(scope="module", params=["two_track_mkv", "two_track_mp4"])
def two_track(request: pytest.FixtureRequest):
    """The same two-language content probed from MKV and from MP4."""
    return probe(request.getfixturevalue(request.param))


def test_probe_finds_both_languages_in_order(two_track):
    tracks = two_track.audio_tracks
    assert [t.index for t in tracks] == [1, 2]  # the video is stream 0
    assert [t.language for t in tracks] == ["en", "de"]
    assert all(t.codec == "aac" and t.channels == 1 for t in tracks)
    assert two_track.has_video
    assert two_track.subtitle_tracks == ()


def test_probe_durations_match_the_speech(two_track, speech_en_wav, speech_de_wav):
    speech = max(mf.wav_duration(speech_en_wav), mf.wav_duration(speech_de_wav))
    for track in two_track.audio_tracks:
        assert track.duration == pytest.approx(speech + 0.3, abs=DURATION_SLACK)
    assert two_track.duration >= max(t.duration for t in two_track.audio_tracks)
    assert two_track.size == two_track.path.stat().st_size


def test_probe_reads_default_flags(two_track_mkv, two_track_mp4, no_default_mkv):
    assert [t.default for t in probe(two_track_mkv).audio_tracks] == [False, True]
    assert [t.default for t in probe(two_track_mp4).audio_tracks] == [True, False]
    assert [t.default for t in probe(no_default_mkv).audio_tracks] == [False, False]


def test_probe_reads_matroska_details(two_track_mkv):
    media = probe(two_track_mkv)
    assert "matroska" in media.format_name
    assert [t.title for t in media.audio_tracks] == ["English", "Deutsch"]


def test_probe_reads_surround_layout(surround_mkv):
    (track,) = probe(surround_mkv).audio_tracks
    assert (track.codec, track.channels, track.channel_layout) == ("flac", 6, "5.1")


@pytest.mark.parametrize(
    ("preferences", "language"),
    [(["de"], "de"), (["en"], "en"), (["fr", "de"], "de"), (["fr"], "en"), ([], "en")],
)
def test_choose_track_prefers_language_then_default(two_track_mp4, preferences, language):
    # In the MP4 the English track (the first) is the default.
    assert choose_track(probe(two_track_mp4), preferences).language == language


def test_choose_track_falls_back_to_default_not_first(two_track_mkv):
    media = probe(two_track_mkv)  # German, the second track, is the default
    assert choose_track(media, []).index == 2
    assert choose_track(media, ["fr"]).language == "de"
    assert choose_track(media, ("en",)).index == 1


def test_choose_track_without_default_takes_first(no_default_mkv):
    media = probe(no_default_mkv)
    assert choose_track(media).index == media.audio_tracks[0].index == 1
    assert choose_track(media, ["de"]).index == 2


def assert_media_error(excinfo: pytest.ExceptionInfo[MediaError], path: Path, *words: str) -> None:
    message = str(excinfo.value)
    assert excinfo.value.path == path
    assert str(path) in message
    for word in words:
        assert word.lower() in message.lower(), message


def test_zero_byte_file(zero_byte_mkv):
    with pytest.raises(MediaError) as excinfo:
        probe(zero_byte_mkv)
    assert_media_error(excinfo, zero_byte_mkv, "empty", "0 bytes")


def test_missing_path(tmp_path):
    missing = tmp_path / "gone.mkv"
    with pytest.raises(MediaError) as excinfo:
        probe(missing)
    assert_media_error(excinfo, missing, "no such file")


def test_folder(tmp_path):
    folder = tmp_path / "Season 1.mkv"
    folder.mkdir()
    with pytest.raises(MediaError) as excinfo:
        probe(folder)
    assert_media_error(excinfo, folder, "folder")


def test_unreadable_file(tmp_path, two_track_mkv):
    locked = tmp_path / "locked.mkv"
    locked.write_bytes(two_track_mkv.read_bytes())
    locked.chmod(0)
    # In a child without root's power to bypass permissions (CI runs as root).
    code = (
        "import sys; from pathlib import Path; from ingest.media.probe import probe\n"
        "from ingest.errors import MediaError\n"
        "try: probe(Path(sys.argv[1]))\n"
        "except MediaError as e: print(e); sys.exit(3)\n"
    )
    proc = subprocess.run(
        [*unprivileged.prefix(), sys.executable, "-c", code, str(locked)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout.strip() == f"{locked}: permission denied (cannot read)"


def test_text_named_mkv_carries_ffprobe_words(text_mkv):
    with pytest.raises(MediaError) as excinfo:
        probe(text_mkv)
    assert_media_error(excinfo, text_mkv, "not a readable media file", "Invalid data")


def test_video_without_audio(video_only_mkv):
    with pytest.raises(MediaError) as excinfo:
        probe(video_only_mkv)
    assert_media_error(excinfo, video_only_mkv, "no audio stream")


def test_truncated_mp4_lost_its_index(truncated_mp4):
    # ffmpeg writes the moov atom last, so an interrupted copy has no index at all.
    with pytest.raises(MediaError) as excinfo:
        probe(truncated_mp4)
    assert_media_error(excinfo, truncated_mp4, "moov atom not found")


def test_truncated_mkv_still_probes_at_full_length(truncated_mkv, two_track_mkv):
    # The Matroska header carries the durations, so only decoding finds the damage
    # (see test_audio.py).
    assert probe(truncated_mkv).duration == pytest.approx(probe(two_track_mkv).duration)


def test_check_readable_accepts_a_good_file(two_track_mkv):
    check_readable(two_track_mkv)


def test_ffmpeg_message_keeps_last_lines():
    stderr = b"Input #0\n\n  [mov @ 0x1] moov atom not found  \nfile.mp4: Invalid data\n"
    expected = "Input #0 | [mov @ 0x1] moov atom not found | file.mp4: Invalid data"
    assert ffmpeg_message(stderr) == expected
    assert ffmpeg_message(stderr, limit=1) == "file.mp4: Invalid data"


def test_ffmpeg_message_survives_bad_bytes_and_silence():
    assert ffmpeg_message(b"caf\xe9 broken\n") == "caf\ufffd broken"
    assert ffmpeg_message("") == ffmpeg_message(b"\n  \n") == "no error text"
