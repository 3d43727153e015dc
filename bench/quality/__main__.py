"""``python -m bench.quality``: see ``bench/quality/run.py``."""

from __future__ import annotations

from bench.quality.run import main

main()
