"""A bounded fuzz pass (issue 15): what a hostile library can drop into a watched folder.

Names of any bytes but ``/`` and NUL, up to the filesystem's 255, and media that are random
bytes or real containers (Matroska, streamed Matroska, MP4, WAV, MP3) with bytes flipped,
cut short and garbage appended. Two layers:

- in-process, a few hundred cases in seconds: the functions every name goes through (which
  files are media, the ledger, sidecar names and their atomic write, ``shown``) and the
  first stages every file goes through (probe, track choice, extract), which must decode
  or raise ``MediaError``, nothing else, and never hang;
- one real daemon given a few dozen such files beside one good file: it stays up, the good
  file gets its subtitle, every bad file ends failed or skipped with a reason, no thread
  dies, no temporary file stays.

Every case is reproducible. Hypothesis runs derandomized (the same examples each run, no
example database) and prints the failing example, a ``Mutation`` or a name as bytes; the
daemon's files come from ``random.Random(SEED)``, and each failure message names the seed.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.daemon.mediafiles import DEFAULT_EXTENSIONS, WatchSpec, walk, wanted
from ingest.errors import MediaError, StageError
from ingest.ledger.fingerprint import fingerprint
from ingest.ledger.sqlite import Ledger
from ingest.media.extract import extract
from ingest.media.probe import choose_track, probe
from ingest.models import Audio
from ingest.paths import SHOWN, shown
from ingest.settings import AudioSettings
from ingest.subtitles import outputs
from ingest.testing import make_job
from tests.daemon.test_service import (  # noqa: F401 - fixtures
    counts,
    jfk_src,
    library,
    procs,
    srt_text,
    start_daemon,
    state,
    status,
)
from tests.support.daemonproc import IngestProcess, wait_until

NAME_MAX = 255  # bytes in one file name on ext4, tmpfs, btrfs, xfs
MEDIA_SUFFIXES = tuple(sorted(e.encode() for e in DEFAULT_EXTENSIONS))
NAME_BYTES = bytes(b for b in range(1, 256) if b != ord("/"))
TMP_SUFFIX = b".ingest-tmp"
# A probe or an extract that runs this long on a file of a few KiB hangs: the guard fails it.
HANG_SECONDS = 20.0
PROBE_TIMEOUT = 15.0
AUDIO = AudioSettings(timeout_min_seconds=PROBE_TIMEOUT)
CLIP_SECONDS = 3  # over the 2 s below which extract does not judge a file truncated

FUZZ = settings(
    derandomize=True,  # the same examples every run: a failure here is a failure for everyone
    database=None,  # and nothing written into the working tree
    deadline=None,  # ffmpeg on a loaded 2-core machine: timing is the hang guard's job
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# -- names -------------------------------------------------------------------------------
def _clean(raw: bytes) -> bytes:
    return raw.replace(b"/", b"_").replace(b"\0", b"_")


_units = st.binary(min_size=1, max_size=4) | st.text(min_size=1, max_size=2).map(str.encode)
_suffix = st.builds(lambda ext, upper: ext.upper() if upper else ext, st.sampled_from(MEDIA_SUFFIXES), st.booleans())
# The pieces the rules about names look at: dots, media endings, ignore words, foreign bytes.
_pieces = st.lists(
    st.sampled_from([b".", b"..", b" ", b"-", b"sample", b"SaMpLe", b".part", b"extras", b"\n", b"\xff", b"\xc3"])
    | _units
    | _suffix,
    min_size=1,
    max_size=8,
).map(lambda parts: b"".join(parts)[:NAME_MAX])
# Anything; built from those pieces; media-looking; and names that fill the limit
# (multi-byte characters across every cut ingest makes), each at most NAME_MAX bytes.
names = (
    st.one_of(
        st.binary(min_size=1, max_size=NAME_MAX),
        _pieces,
        st.text(min_size=1, max_size=NAME_MAX // 4).map(str.encode),
        st.builds(
            lambda stem, ext: stem[: NAME_MAX - len(ext)] + ext, st.binary(min_size=1, max_size=NAME_MAX), _suffix
        ),
        st.builds(
            lambda unit, ext, short: (unit * NAME_MAX)[: NAME_MAX - len(ext) - short] + ext,
            _units,
            _suffix,
            st.integers(0, 16),
        ),
    )
    .map(_clean)
    .filter(lambda name: name not in (b".", b".."))
)


def media_by_name(name: bytes) -> bool:
    """What the README promises, written out from it: a media ending in any case, not
    hidden, not a sample (the default ignore globs that can match such a name)."""
    low = os.fsdecode(name).lower()
    return low.endswith(tuple(DEFAULT_EXTENSIONS)) and not low.startswith(".") and "sample" not in low


def made(folder: Path, name: bytes, content: bytes = b"media") -> Path:
    path = folder / os.fsdecode(name)
    path.write_bytes(content)
    assert os.fsencode(path.name) == name
    return path


def listing(folder: Path) -> list[bytes]:
    return sorted(os.listdir(os.fsencode(folder)))


@FUZZ
@given(
    top=st.lists(names, min_size=1, max_size=8, unique=True), sub=names, below=st.lists(names, max_size=4, unique=True)
)
def test_walk_finds_exactly_the_media_names_among_any_bytes(top, sub, below):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        spec = WatchSpec(root)
        at_top = [made(root, name) for name in top if name != sub]
        (root / os.fsdecode(sub)).mkdir(exist_ok=True)
        under = [made(root / os.fsdecode(sub), name) for name in below]
        found = list(walk(spec, root))
        assert {p for p in found if p.parent == root} == {p for p in at_top if media_by_name(os.fsencode(p.name))}
        # The watcher asks wanted() of each event, reconcile walks: the two must agree.
        assert set(found) == {p for p in [*at_top, *under] if wanted(spec, p)}
        assert all(p.is_file() for p in found)


_folder_pairs = st.one_of(
    st.lists(names, min_size=2, max_size=2, unique=True),
    # One folder's name the start of the other's: the edges of the ledger's range scans.
    st.builds(lambda a, extra: [a, _clean(a + extra)[:NAME_MAX]], names, st.binary(min_size=1, max_size=3)),
).filter(lambda pair: pair[0] != pair[1])


@FUZZ
@given(folders=_folder_pairs, files=st.lists(names, min_size=1, max_size=5, unique=True))
def test_the_ledger_keeps_any_name_as_its_own_bytes(folders, files):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "library"  # the ledger's files beside it, never among the names
        failing, skipping = (root / os.fsdecode(folder) for folder in folders)
        failing.mkdir(parents=True)
        skipping.mkdir()
        paths = {folder: {made(folder, name) for name in files} for folder in (failing, skipping)}
        with Ledger(Path(tmp) / "ledger.sqlite3") as ledger:
            for folder, inside in paths.items():
                for path in inside:
                    assert ledger.observe(path, fingerprint(path), watch=str(folder))
                    assert not ledger.observe(path, fingerprint(path)), "known: not new work twice"
            assert ledger.known(root) == paths[failing] | paths[skipping]
            for folder, inside in paths.items():
                assert ledger.known(folder) == inside
                for path in inside:
                    entry = ledger.get(path)
                    assert entry is not None and os.fsencode(entry.path) == os.fsencode(path)
                    assert entry.watch == str(folder)
            finish_each(ledger, failing, paths[failing], "failed")
            finish_each(ledger, skipping, paths[skipping], "skipped")
            assert ledger.claim("fuzz", 60) is None
            assert {e.path for e in ledger.failures(limit=100)} == paths[failing]
            assert {e.path for e in ledger.skipped(limit=100)} == paths[skipping]


def finish_each(ledger: Ledger, folder: Path, inside: set[Path], ending: str) -> None:
    """Claim every file below ``folder`` (and nothing else), end each ``ending`` with a
    message naming it, and read the message back as printable text."""
    claimed = set()
    while (entry := ledger.claim("fuzz", 60, under=folder)) is not None:
        claimed.add(entry.path)
        error = f"{entry.path}: not a readable media file"
        if ending == "failed":
            assert ledger.finish_failed(entry.path, "fuzz", error, 1, lambda n: 0.0) == "failed"
        else:
            ledger.finish_skipped(entry.path, "fuzz", error)
        back = ledger.get(entry.path)
        assert back is not None and back.state == ending
        text = back.last_error if ending == "failed" else back.reason
        assert text == f"{shown(entry.path)}: not a readable media file"
        text.encode("utf-8")
    assert claimed == inside


@FUZZ
@given(name=names)
def test_a_sidecar_keeps_the_medias_bytes_or_is_refused_before_any_work(name):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        media = root / os.fsdecode(name)
        job = make_job(media, formats=("srt",))
        for code in ("und", "en"):  # und: the three-letter code preflight judges names with
            target = outputs.target(job, code, "srt")
            raw = os.fsencode(target.name)
            assert target.parent == root
            assert raw == os.fsencode(media.stem) + f".{code}.srt".encode()
            try:
                outputs.check_names(job, [target])
            except StageError as exc:
                assert len(raw) > NAME_MAX, f"refused a {len(raw)}-byte name: {exc}"
                assert "shorten the media's name" in shown(exc)
                continue
            assert len(raw) <= NAME_MAX, f"a {len(raw)}-byte name passed"
            written = outputs.write_text(media, target, "1\n")
            assert written == target and target.read_bytes() == b"1\n"
            assert listing(root) == [raw], "the sidecar under its own bytes, and no temporary file"
            target.unlink()


def readable(message: str, media: Path) -> bool:
    """Whether ``message`` writes a name's foreign bytes as ``\\xNN`` (as log lines and
    ``ingest status`` do), not as the ``\\udcNN`` of Python's repr of a surrogate."""
    return "\\udc" not in message or "\\udc" in shown(media)


# 255 bytes ending in a media ending: the sidecar's name (at least 258 bytes) cannot be made.
_longest = st.builds(
    lambda stem, ext: _clean(stem)[: NAME_MAX - len(ext)] + ext,
    st.binary(min_size=NAME_MAX, max_size=NAME_MAX) | (_units.map(lambda unit: unit * NAME_MAX)),
    _suffix,
)


@settings(FUZZ, max_examples=40)
@given(name=_longest)
def test_a_refused_sidecar_name_is_written_as_shown_writes_names(name):
    """The refusal ends in the ledger and ``ingest status``: a name's foreign bytes there are
    ``\\xNN`` as in every other line about the file, not Python's ``\\udcNN``."""
    media = Path(tempfile.gettempdir()) / os.fsdecode(name)
    job = make_job(media, formats=("srt",))
    with pytest.raises(StageError, match="shorten the media's name") as refused:
        outputs.check_names(job, [outputs.target(job, "und", "srt")])
    assert readable(shown(refused.value), media), shown(refused.value)


@FUZZ
@given(name=names)
def test_shown_writes_any_name_as_printable_text(name):
    text = os.fsdecode(name)
    out = shown(Path("/lib") / text)
    out.encode("utf-8")
    assert out == "/lib/" + name.decode("utf-8", "backslashreplace")
    # print() of such a name (show_on_terminal) writes what log lines and status show.
    assert text.encode("utf-8", SHOWN) == out.removeprefix("/lib/").encode("utf-8")


# -- media -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Mutation:
    """What is done to a real clip: bytes flipped anywhere, and in the header where damage
    matters most, then the file cut, then garbage appended. Its repr is the reproducer:
    ``Mutation(...).apply(clip bytes)`` with the clip made as ``clips`` makes it."""

    kind: str
    flips: tuple[tuple[float, int], ...] = ()  # (where, as a fraction of the length; xor mask)
    header: tuple[tuple[int, int], ...] = ()  # (offset; xor mask)
    cut: float | None = None  # keep this fraction
    tail: bytes = b""

    def apply(self, data: bytes) -> bytes:
        out = bytearray(data)
        for where, mask in self.flips:
            out[int(where * len(out))] ^= mask
        for offset, mask in self.header:
            out[offset % len(out)] ^= mask
        if self.cut is not None:
            out = out[: max(1, int(self.cut * len(out)))]
        return bytes(out) + self.tail

    @classmethod
    def drawn(cls, kind: str, rng: random.Random) -> Mutation:
        flips = tuple((rng.random(), rng.randint(1, 255)) for _ in range(rng.randint(0, 24)))
        header = tuple((rng.randrange(512), rng.randint(1, 255)) for _ in range(rng.randint(0, 4)))
        cut = rng.choice([None, rng.uniform(0.05, 0.95)])
        tail = rng.randbytes(rng.choice([0, 0, rng.randint(1, 512)]))
        if not (flips or header or tail) and cut is None:
            flips = ((rng.random(), rng.randint(1, 255)),)
        return cls(kind, flips, header, cut, tail)


TINY_VIDEO = ["-f", "lavfi", "-i", f"testsrc=size=64x48:rate=5:duration={CLIP_SECONDS}"]
# kind: (file ending, ffmpeg arguments after the speech input; "pipe:1" streams to stdout)
RECIPES: dict[str, tuple[str, list[str]]] = {
    "mkv": (".mkv", [*TINY_VIDEO, "-c:v", "mpeg4", "-c:a", "aac", "-b:a", "24k", "-shortest"]),
    "streamed_mkv": (
        ".mkv",
        ["-ac", "1", "-ar", "16000", "-c:a", "flac", "-f", "matroska", "pipe:1"],
    ),  # no duration, no cues
    "mp4": (".mp4", [*TINY_VIDEO, "-c:v", "mpeg4", "-c:a", "aac", "-b:a", "24k", "-shortest"]),
    "wav": (".wav", ["-ac", "1", "-ar", "8000", "-c:a", "pcm_s16le"]),
    "mp3": (".mp3", ["-ac", "1", "-c:a", "libmp3lame", "-b:a", "24k"]),
}
KINDS = tuple(RECIPES)
# The first bytes of each container ingest may meet, for random bytes that look like media.
MAGIC = (
    b"",
    b"\x1aE\xdf\xa3",  # EBML (Matroska, WebM)
    b"\x00\x00\x00\x18ftypisom",
    b"RIFF\x24\x08\x00\x00WAVEfmt ",
    b"ID3\x03\x00\x00\x00\x00\x00\x00",
    b"\xff\xfb\x90\x64",  # an MPEG audio frame header
    b"fLaC\x00\x00\x00\x22",
    b"OggS\x00\x02",
    b"\x47\x40\x00\x10",  # an MPEG-TS packet
)


def make_clip(kind: str, speech: Path, folder: Path) -> bytes:
    ending, args = RECIPES[kind]
    cmd = [
        "ffmpeg",
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-t",
        str(CLIP_SECONDS),
        "-i",
        str(speech),
        *args,
    ]
    if args[-1] == "pipe:1":
        proc = subprocess.run(cmd, capture_output=True, check=True)
        return proc.stdout
    out = folder / f"{kind}{ending}"
    subprocess.run([*cmd, "-y", str(out)], capture_output=True, check=True)
    return out.read_bytes()


@pytest.fixture(scope="module")
def clips(tmp_path_factory, shared_media) -> dict[str, bytes]:
    """Three seconds of the JFK speech in each container, as bytes."""
    folder = tmp_path_factory.mktemp("fuzz-clips")
    return {kind: make_clip(kind, shared_media / "jfk.flac", folder) for kind in KINDS}


class Hung(Exception):
    """A probe or an extract outlived ``HANG_SECONDS``."""


@contextlib.contextmanager
def hang_guard(what: str, seconds: float = HANG_SECONDS) -> Iterator[None]:
    """Raise ``Hung`` in the test if the block runs longer than ``seconds``: subprocess.run
    kills its child on the way out, so nothing is left behind."""

    def expire(signum: int, frame: object) -> None:
        raise Hung(f"{what} still running after {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def decode(path: Path) -> Audio | None:
    """What a job does with a file before voice detection (pipeline ``_prepare``): probe,
    choose the track, extract. The audio, or None when refused with a ``MediaError``."""
    try:
        with hang_guard(f"decoding {path.name}"):
            media = probe(path, timeout=PROBE_TIMEOUT)
            return extract(media, choose_track(media), AUDIO)
    except MediaError as exc:
        assert exc.path == path and exc.cause, exc
        assert str(exc).startswith(f"{path}: "), "the error names the file"
        return None


def check_audio(audio: Audio) -> None:
    assert audio.samples.dtype == np.float32 and audio.samples.size > 0
    assert np.isfinite(audio.samples).all(), "decoded audio holds NaN or infinity"


def test_the_clips_the_fuzz_damages_decode_whole(clips, tmp_path):
    """Undamaged, every clip decodes to its three seconds: the fuzz starts from real media."""
    for kind, data in clips.items():
        audio = decode(made(tmp_path, f"{kind}{RECIPES[kind][0]}".encode(), data))
        assert audio is not None, kind
        check_audio(audio)
        assert abs(audio.duration - CLIP_SECONDS) < 0.2, (kind, audio.duration)


mutations = st.builds(
    Mutation,
    kind=st.sampled_from(KINDS),
    flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)), max_size=24).map(tuple),
    header=st.lists(st.tuples(st.integers(0, 511), st.integers(1, 255)), max_size=8).map(tuple),
    cut=st.none() | st.floats(0.01, 0.99),
    tail=st.binary(max_size=256),
)


@settings(FUZZ, max_examples=100)
@given(mutation=mutations)
def test_a_damaged_container_decodes_or_is_refused_with_a_media_error(clips, mutation):
    with tempfile.TemporaryDirectory() as tmp:
        ending = RECIPES[mutation.kind][0]
        audio = decode(made(Path(tmp), f"damaged{ending}".encode(), mutation.apply(clips[mutation.kind])))
        if audio is not None:
            check_audio(audio)


@settings(FUZZ, max_examples=40)
@given(magic=st.sampled_from(MAGIC), data=st.binary(max_size=4096), ending=st.sampled_from(MEDIA_SUFFIXES))
def test_random_bytes_decode_or_are_refused_with_a_media_error(magic, data, ending):
    with tempfile.TemporaryDirectory() as tmp:
        audio = decode(made(Path(tmp), b"random" + ending, magic + data))
        if audio is not None:
            check_audio(audio)


# -- one real daemon ---------------------------------------------------------------------
SEED = 15  # issue 15; another seed drops other files
RANDOM_FILES = 8
MUTANT_FILES = 18
ENDINGS = ("job_done", "job_failed", "job_skipped")


@dataclass(frozen=True)
class Dropped:
    """A file the test drops: its name's bytes, its content, and what it may end as."""

    name: bytes
    content: bytes
    what: str  # "random", a Mutation's repr, or why an intact clip has this name
    may_end: tuple[str, ...]


def random_name(rng: random.Random, ending: bytes, taken: set[bytes]) -> bytes:
    """A name of 1 to NAME_MAX bytes ending in ``ending`` that the watch must pick up:
    raw bytes (rarely UTF-8), text, or Latin-1 as an old share writes it."""
    length = rng.choice([rng.randint(1, 12), rng.randint(13, 80), rng.randint(200, NAME_MAX), NAME_MAX])
    room = max(1, length - len(ending))
    style = rng.choice(["bytes", "text", "latin1"])
    if style == "bytes":
        stem = bytes(rng.choice(NAME_BYTES) for _ in range(room))
    else:
        chars = "".join(
            chr(rng.choice([rng.randint(0x20, 0x7E), rng.randint(0xA0, 0xFF), rng.randint(0x100, 0x30FF)]))
            for _ in range(room)
        )
        stem = chars.encode("latin-1", "replace") if style == "latin1" else chars.encode()[:room]
    stem = _clean(stem).lstrip(b".") or b"x"
    name = stem[: NAME_MAX - len(ending)] + ending
    if not media_by_name(name) or name in taken:
        return random_name(rng, ending, taken)
    taken.add(name)
    return name


def bad_files(rng: random.Random, clips: dict[str, bytes]) -> list[Dropped]:
    taken: set[bytes] = set()
    dropped = []
    for n in range(RANDOM_FILES):  # the first one empty, the others up to 8 KiB, some with a container's magic
        size = rng.choice([rng.randint(1, 64), rng.randint(65, 8192)]) if n else 0
        content = (rng.choice(MAGIC) if n else b"") + rng.randbytes(size)
        name = random_name(rng, rng.choice(MEDIA_SUFFIXES), taken)
        dropped.append(Dropped(name, content, "random", ("failed", "skipped")))
    for n in range(MUTANT_FILES):
        mutation = Mutation.drawn(KINDS[n % len(KINDS)], rng)
        name = random_name(rng, RECIPES[mutation.kind][0].encode(), taken)
        content = mutation.apply(clips[mutation.kind])
        dropped.append(Dropped(name, content, repr(mutation), ("done", "failed", "skipped")))
    return dropped


def named_clips(clips: dict[str, bytes]) -> list[Dropped]:
    """Intact clips whose names alone decide: one whose sidecar name would be 259 bytes,
    and one whose sidecar fits but whose temporary name is cut inside a character."""
    too_long = _clean(bytes(range(0x80, 0x100)) * 2)[: NAME_MAX - 4] + b".mp4"
    fits = ("x" + "日" * 80).encode() + b".mkv"  # 245 bytes; the sidecar 248
    return [
        Dropped(too_long, clips["mp4"], "a 255-byte name", ("failed",)),
        Dropped(fits, clips["mkv"], "a 245-byte name", ("done",)),
    ]


def wait_all_ended(daemon: IngestProcess, paths: list[Path], why: str, timeout: float = 150.0) -> None:
    """Until each of ``paths`` has its summary line (every failure is final here)."""
    expected = {shown(p) for p in paths}
    left: list[set[str]] = [expected]

    def ended() -> bool:
        seen = {e.get("file") for e in daemon.events() if e.get("event") in ENDINGS}
        left[0] = expected - seen
        assert daemon.alive(), f"{why}: the daemon died\n{daemon.tail(80)}"
        return not left[0]

    wait_until(ended, timeout, f"{why}: every file's summary line", lambda: f"unfinished: {sorted(left[0])}")


def files_named(root: Path, ending: bytes) -> list[bytes]:
    return [os.path.join(top, n) for top, _, files in os.walk(os.fsencode(root)) for n in files if n.endswith(ending)]


@pytest.mark.slow  # a real daemon process
def test_the_daemon_outlives_a_folder_of_hostile_files(procs, state, library, jfk_src, clips):  # noqa: F811
    rng = random.Random(SEED)
    why = f"fuzz seed {SEED}"
    bad = bad_files(rng, clips) + named_clips(clips)
    daemon = start_daemon(
        procs, state, library, env={"INGEST_DAEMON__MAX_ATTEMPTS": "1", "INGEST_DAEMON__BACKOFF_SECONDS": "0"}
    )
    paths = {made(library, d.name, d.content): d for d in bad}
    good = Path(shutil.copy(jfk_src, library / "zz good.flac"))  # last in: after every bad one
    wait_all_ended(daemon, [*paths, good], why)
    assert daemon.alive(), f"{why}\n{daemon.tail(80)}"
    assert daemon.stop() == 0, f"{why}\n{daemon.tail(80)}"

    log = daemon.tail(1_000_000)
    for marker in ("Traceback", "Exception in thread", "job_crashed"):
        assert marker not in log, f"{why}: {marker!r} in the daemon's log\n" + near(log, marker)
    assert files_named(library, TMP_SUFFIX) == [], why
    assert (library / "zz good.en.srt").is_file(), why
    assert "fellow americans" in srt_text(library / "zz good.en.srt").lower(), why
    with Ledger(state / "ledger.sqlite3") as ledger:
        assert ledger.known(library) == {*paths, good}, why
        assert ledger.get(good).state == "done", why
        judgements = (judged(ledger, path, d, n) for n, (path, d) in enumerate(paths.items()))
        problems = [problem for problem in judgements if problem]
    assert not problems, f"{why}:\n" + "\n".join(problems)
    text = status(procs, state)
    assert counts(text)["pending"] == counts(text)["running"] == 0, text
    assert sum(counts(text).values()) == len(paths) + 1, text


def near(text: str, marker: str, lines: int = 30) -> str:
    """The lines of ``text`` from the first holding ``marker`` on."""
    at = text.splitlines()
    first = next(n for n, line in enumerate(at) if marker in line)
    return "\n".join(at[max(0, first - 3) : first + lines])


def judged(ledger: Ledger, path: Path, dropped: Dropped, n: int) -> str | None:
    """What is wrong with how ``path`` ended, or None: a reason for every failure and skip,
    failures that name the file, a sidecar beside every file that ended done. The message
    names the file as ``n`` in the list the seed makes (``bad_files`` + ``named_clips``)."""
    entry = ledger.get(path)
    label = f"file {n}, {shown(path.name)[:40]!r}... ({len(dropped.name)} bytes, {dropped.what[:60]})"
    if entry is None:
        return f"{label}: not in the ledger"
    said = (entry.last_error or entry.reason or "")[-300:]
    if entry.state not in dropped.may_end:
        return f"{label}: ended {entry.state} ({said}); expected {dropped.may_end}"
    if entry.state == "failed" and not (entry.last_error or "").startswith(f"{shown(path)}: "):
        return f"{label}: failed without naming the file and the cause: {said!r}"
    if entry.state == "failed" and "unexpected error" in entry.last_error:
        return f"{label}: crashed: {said}"
    if entry.state == "skipped" and not entry.reason:
        return f"{label}: skipped without a reason"
    if not readable(entry.last_error or entry.reason or "", path):
        return f"{label}: the reason writes the name's bytes as \\udcNN: ...{said}"
    sidecar = path.parent / f"{path.stem}.en.srt"
    if entry.state == "done" and (list(entry.outputs) != [sidecar] or not sidecar.is_file()):
        return f"{label}: done, but its outputs are {entry.outputs}"
    return None
