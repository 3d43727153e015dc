"""Built-in plugins. Installed as ``ingest_plugins`` and loaded through entry points,
exactly like third-party plugins."""
