"""The ingest command line: the parser and boot, and one module per family of commands."""
