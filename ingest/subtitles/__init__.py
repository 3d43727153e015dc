"""Subtitles and sidecars out: cues, line layout, the standards, names, languages, writing."""
