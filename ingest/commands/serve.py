"""``ingest serve``: the HTTP service alone, on the daemon's ledger, workers and model.

``ingest run`` serves too when ``[server] enabled = true`` (``with_server``): one process,
one queue, one loaded model for watched files and requests alike.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingest.commands import run
from ingest.daemon import service as daemon_mod


def add_parser(sub: Any) -> None:
    serve = sub.add_parser("serve", help="serve the HTTP APIs (whisper-asr-webservice, OpenAI) without watching")
    serve.add_argument("--listen", metavar="HOST:PORT", help="address to listen on (default: 127.0.0.1:9000)")
    serve.add_argument("--state-dir", type=Path, help="where the ledger, spool and request jobs live")


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Settings from the options given: no watches (server only), the listen address."""
    extra = run.overrides(args)
    extra["watches"] = []
    if args.listen:
        extra["server"] = {"listen": args.listen}
    return extra


def cmd_serve(args: argparse.Namespace) -> int:
    from ingest.commands.cli import boot

    conf, host = boot(args, overrides(args))
    with host.serving(conf, command="serve"):
        service = daemon_mod.Daemon(conf, host)
        service.install_signals()
        service.start()
        try:
            with with_server(service, always=True):
                service.serve()
        finally:
            service.stop()
    return 0


@contextlib.contextmanager
def with_server(daemon: daemon_mod.Daemon, always: bool = False) -> Iterator[None]:
    """The HTTP service beside ``daemon`` for the block, when asked for (or ``always``)."""
    if not (always or daemon.shared.settings.server.enabled):
        yield
        return
    from ingest.server import runner  # FastAPI and uvicorn only when serving

    with runner.serving(daemon.shared):
        yield
