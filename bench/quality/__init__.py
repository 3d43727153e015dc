"""Quality benchmark: the bare engine against ``ingest process`` on hard audio.

Variants of real and synthetic speech (music and noise under it, a telephone line,
5.1 with music around the centre, long silence, music-only and crowd-only stretches)
are built at run time; ``run`` measures both paths on each, side by side.

    .venv/bin/python -m bench.quality [--models base] [--takes 3] [--chains]
"""
