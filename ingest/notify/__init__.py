"""Telling the world: the courier thread, notices, media servers, path maps."""
