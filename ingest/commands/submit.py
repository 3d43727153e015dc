"""``ingest submit [--server URL] FILE...``: hand files to a running ingest service.

Each file is uploaded as a job (``ingest.client``), waited for, and its outputs written
beside it (or in ``--output-dir``) as ``<stem>.<lang>.srt``, ``<stem>.json``...; with
``--in-place`` the server transcribes the file where it lies, in one of its libraries,
and writes beside it itself. A file already there is never overwritten unless
``--overwrite``: ingest did not write it. One line per file; the exit status is 0 when
every file ended done (or skipped, with the reason), 1 when any did not, 2 for a bad
server URL. The API key comes from ``INGEST_API_KEY``, never the command line (``ps``
shows it to everyone).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ingest.client import DEFAULT_URL, Client, ClientError, Job
from ingest.errors import ConfigError

SUBTITLES = frozenset({"srt", "vtt"})  # named with their language, the way Plex and Jellyfin read them


def add_parser(sub: Any) -> None:
    p = sub.add_parser("submit", help="send files to a running ingest service and fetch their outputs")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument(
        "--server",
        default=os.environ.get("INGEST_SERVER_URL", DEFAULT_URL),
        help=f"the service's URL (default: $INGEST_SERVER_URL or {DEFAULT_URL}); the key from $INGEST_API_KEY",
    )
    p.add_argument("--format", dest="formats", action="append", metavar="FMT", help="srt (default), vtt, json, txt")
    p.add_argument("--output-dir", type=Path, help="write the outputs here instead of beside each file")
    p.add_argument("--overwrite", action="store_true", help="replace outputs that are already there")
    p.add_argument("--in-place", action="store_true", help="the server sees FILE itself (a path in its library)")
    p.add_argument("--no-wait", dest="wait", action="store_false", help="queue the jobs and print their ids")
    p.add_argument("--language", help="the language spoken (default: detect)")
    p.add_argument("--task", choices=["transcribe", "translate"])
    p.add_argument("--diarize", action="store_true", default=None, help="label the speakers")


def cmd_submit(args: argparse.Namespace) -> int:
    url = urlsplit(args.server)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise ConfigError(f"--server {args.server!r} is not an http(s) URL, e.g. {DEFAULT_URL}")
    options = {"language": args.language, "task": args.task, "diarize": args.diarize}
    failed = 0
    with Client(args.server, api_key=os.environ.get("INGEST_API_KEY") or None) as server:
        for media in args.files:
            try:
                print(f"{media}: {_one(server, media, args, options)}")
            except (ClientError, OSError) as exc:
                print(f"ingest submit: {media}: {exc}", file=sys.stderr)
                failed += 1
    return 1 if failed else 0


def _one(server: Client, media: Path, args: argparse.Namespace, options: dict[str, Any]) -> str:
    """Submit, wait and fetch one file; the line to print, or a ``ClientError``."""
    if args.in_place:
        job = server.submit_path(media.resolve(), **options)
    else:
        if not media.is_file():
            raise ClientError("no such file" if not media.exists() else "not a file")
        job = server.submit(media, **options)
    if not args.wait:
        return f"job {job['id']} {job['state']}"
    job = server.wait(job["id"])
    if job["state"] == "failed":
        raise ClientError(f"job {job['id']} failed: {job.get('error') or 'no reason given'}")
    if job["state"] == "skipped":
        return f"skipped ({job.get('error') or 'nothing to transcribe'})"
    if args.in_place:
        return f"done on the server (job {job['id']})"
    written = [_save(server, job, media, fmt, args) for fmt in args.formats or ["srt"]]
    return "done → " + ", ".join(str(p) for p in written)


def _save(server: Client, job: Job, media: Path, fmt: str, args: argparse.Namespace) -> Path:
    language = job.get("language")
    name = f"{media.stem}.{language}.{fmt}" if fmt in SUBTITLES and language else f"{media.stem}.{fmt}"
    target = (args.output_dir or media.parent) / name
    if target.exists() and not args.overwrite:
        raise ClientError(f"{target} is already there (not written by this job); --overwrite replaces it")
    body = server.output(job["id"], fmt)
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(f".{target.name}.part")
    part.write_bytes(body)
    part.replace(target)  # a reader never sees half a subtitle
    return target
