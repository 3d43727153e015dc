#!/usr/bin/env bash
# Build the container image and prove it works, on a machine that reaches no registry:
#   1. a Debian 12 base made here with debootstrap and `podman import` (what
#      docker.io/library/debian:bookworm-slim would be);
#   2. the image from ./Dockerfile with `podman build --isolation chroot --build-arg BASE=...`;
#   3. its filesystem exported (`podman create` + `podman export`) and, chrooted into it as
#      the image's user with the image's environment, `ingest doctor`, `ingest process` on a
#      real clip (the subtitle is checked) and the image's own command (the daemon on /media,
#      a file dropped in, `ingest health`, SIGTERM).
# Needs root, podman and debootstrap (installed with apt-get when missing). Re-runnable: the
# base image is kept; INGEST_CONTAINER_WORK (default /var/tmp/ingest-container) holds the
# exported tree. tests/test_container.py runs this (pytest -m container).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=${INGEST_CONTAINER_WORK:-/var/tmp/ingest-container}
BASE_IMAGE=localhost/ingest-base:bookworm
IMAGE=${INGEST_IMAGE:-localhost/ingest:test}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CLIP=${INGEST_TEST_CLIP:-$ROOT/../shared/media/jfk.flac}
step() { echo "container-test: $*"; }
[[ $(id -u) -eq 0 ]] || { echo "container-test: run as root (debootstrap, chroot)" >&2; exit 2; }
[[ -f $CLIP ]] || { echo "container-test: no test clip at $CLIP (set INGEST_TEST_CLIP)" >&2; exit 2; }
for tool in podman debootstrap; do
  command -v "$tool" >/dev/null || {
    step "installing $tool"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$tool" >/dev/null
  }
done
mkdir -p "$WORK"

if ! podman image exists "$BASE_IMAGE"; then
  step "making the base image $BASE_IMAGE with debootstrap (Debian 12 minbase)"
  rm -rf "$WORK/base" && mkdir -p "$WORK/base"
  debootstrap --variant=minbase bookworm "$WORK/base" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -20 "$WORK/debootstrap.log" >&2; exit 1; }
  rm -rf "$WORK/base/var/cache/apt/archives/"*.deb "$WORK/base/var/lib/apt/lists/"*
  tar -C "$WORK/base" -c . | podman import --change 'CMD ["/bin/bash"]' - "$BASE_IMAGE" >/dev/null
  rm -rf "$WORK/base"
fi

step "building $IMAGE from Dockerfile (BASE=$BASE_IMAGE)"
started=$SECONDS
certs=()
if [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then  # this machine's CA bundle, for pip inside the build
  certs=(-v /etc/ssl/certs:/host-certs:ro --build-arg PIP_CERT=/host-certs/ca-certificates.crt)
fi
podman build --isolation chroot --build-arg "BASE=$BASE_IMAGE" "${certs[@]}" -t "$IMAGE" -f Dockerfile . \
  >"$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log" >&2; exit 1; }
build_s=$((SECONDS - started))
size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
step "built in ${build_s} s; image size $((size / 1000000)) MB"

step "exporting the image's filesystem"
tree=$WORK/rootfs
for m in proc dev; do umount -l "$tree/$m" 2>/dev/null || true; done
rm -rf "$tree" && mkdir -p "$tree"
container=$(podman create "$IMAGE")
podman export "$container" | tar -C "$tree" -x
podman rm "$container" >/dev/null
mapfile -t image_env < <(podman image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$IMAGE" | sed '/^$/d')
user=$(podman image inspect --format '{{.Config.User}}' "$IMAGE")
uid=$(chroot "$tree" id -u "$user"); gid=$(chroot "$tree" id -g "$user")
mount --bind /proc "$tree/proc"; mount --bind /dev "$tree/dev"
trap 'kill "${daemon_pid:-0}" 2>/dev/null || true; umount -l "$tree/proc" "$tree/dev" 2>/dev/null || true' EXIT
inside() { chroot --userspec="$uid:$gid" "$tree" env -i "${image_env[@]}" /usr/local/bin/ingest-entrypoint "$@"; }

step "ingest doctor inside the image"
inside ingest doctor | tee "$WORK/doctor.txt"
grep -q '^\[  ok\] torch family' "$WORK/doctor.txt"
grep -q 'offline models: .*tiny.en' "$WORK/doctor.txt"

step "ingest process on $(basename "$CLIP") inside the image"
mkdir -p "$tree/media/one"
cp "$CLIP" "$tree/media/one/clip.${CLIP##*.}"
chown -R "$uid:$gid" "$tree/media"
inside ingest process "/media/one/clip.${CLIP##*.}" --model tiny.en --language en
srt="$tree/media/one/clip.en.srt"
[[ -s $srt ]] || { echo "container-test: no subtitle written" >&2; exit 1; }
words() { grep -v -e '^[0-9]*$' -e ' --> ' "$1" | tr '\n' ' '; }  # the text of an SRT, cues joined
grep -qi 'ask not what your country can do for you' <(words "$srt") \
  || { echo "container-test: the subtitle does not hold the clip's words:" >&2; cat "$srt" >&2; exit 1; }

step "the image's own command: the daemon watching /media"
mkdir -p "$tree/media/watched"; chown "$uid:$gid" "$tree/media/watched"
inside ingest health >/dev/null && { echo "container-test: healthy before any daemon ran" >&2; exit 1; }
cmd=$(podman image inspect --format '{{range .Config.Cmd}}{{.}} {{end}}' "$IMAGE")
# shellcheck disable=SC2086  # the image's CMD, word by word
chroot --userspec="$uid:$gid" "$tree" env -i "${image_env[@]}" INGEST_TRANSCRIBE__MODEL=tiny.en \
  INGEST_TRANSCRIBE__LANGUAGE=en /usr/local/bin/ingest-entrypoint $cmd >"$WORK/daemon.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 120); do inside ingest health >/dev/null 2>&1 && break; sleep 1; done
inside ingest health
cp "$CLIP" "$tree/media/watched/dropped.${CLIP##*.}"; chown "$uid:$gid" "$tree/media/watched/dropped.${CLIP##*.}"
for _ in $(seq 300); do [[ -s $tree/media/watched/dropped.en.srt ]] && break; sleep 1; done
kill -TERM "$daemon_pid"; wait "$daemon_pid" || { tail -20 "$WORK/daemon.log" >&2; exit 1; }
daemon_pid=
[[ -s $tree/media/watched/dropped.en.srt ]] || { tail -20 "$WORK/daemon.log" >&2; exit 1; }
step "ok: image $IMAGE, $((size / 1000000)) MB, built in ${build_s} s; doctor, process and the daemon passed"
