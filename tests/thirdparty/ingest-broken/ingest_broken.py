"""A plugin that cannot be imported, as happens when its own dependency is missing."""

from __future__ import annotations

raise ImportError("ingest-broken needs the module 'nosuchlib', which is not installed")
