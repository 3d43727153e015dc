#!/bin/sh
# The container's entry point. /config/ingest.toml and /config/ingest.env are read when
# they exist; a first start has neither, and then INGEST_... variables and the defaults
# apply, with /media watched (CMD). Arguments that are not a program run as ingest's:
# `docker run IMAGE status` is `ingest status`. exec: ingest itself gets SIGTERM.
set -eu
if [ -z "${INGEST_CONFIG:-}" ] && [ -f /config/ingest.toml ]; then export INGEST_CONFIG=/config/ingest.toml; fi
if [ -z "${INGEST_ENV_FILE:-}" ] && [ -f /config/ingest.env ]; then export INGEST_ENV_FILE=/config/ingest.env; fi
if [ $# -eq 0 ] || ! command -v "$1" >/dev/null 2>&1; then set -- ingest "$@"; fi
exec "$@"
