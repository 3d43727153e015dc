"""Daemon benchmark: real ``ingest run`` processes, native (inotify) watches against polling.

Drop-to-job latency, start-up reconciliation on a large tree with an empty ledger, and idle
CPU on a tree already run; ``run`` measures both watch modes side by side in one run.

    .venv/bin/python -m bench.daemon [--files 10000] [--repeats 3] [--idle-seconds 60] [--drops 10]
"""
