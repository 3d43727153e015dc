"""``python -m bench.daemon``: see ``bench/daemon/run.py``."""

from __future__ import annotations

from bench.daemon.run import main

main()
