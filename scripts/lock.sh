#!/usr/bin/env bash
# Regenerate requirements.lock: the whole dependency tree of ingest (its extras included)
# resolved from pyproject.toml to exact versions with hashes, for Linux x86_64 and
# Python 3.11 (the set-up, CI and container target). Run after changing a dependency in
# pyproject.toml, then run the tests: tests/test_lock.py fails while the two disagree.
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.8
tools=${INGEST_LOCK_TOOLS:-.venv-lock}
[[ -x $tools/bin/uv ]] || { python3 -m venv "$tools"; "$tools/bin/pip" install -q "uv==$UV_VERSION"; }
"$tools/bin/uv" pip compile pyproject.toml --extra models --extra test \
  --generate-hashes --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
  --quiet --no-header --output-file requirements.lock "$@"
echo "requirements.lock: $(grep -c '^[a-z0-9]' requirements.lock) packages"
