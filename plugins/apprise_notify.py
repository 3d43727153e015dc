"""Notifications through apprise (INGEST_APPRISE_URLS): file done/failed, daemon start/stop, digests.

Not written yet: this plugin implements no hooks.
"""
