"""Is the configured model there before any work starts? (``ingest run``, ``process``, ``scan``)

A model name that is not available offline used to be found out file by file: every
job failed with ``unexpected error: LocalEntryNotFoundError`` (no network, or a misspelt
name) and the daemon burnt every file's retries. Now the setting is resolved once at
start-up: found offline, fetched now by the engine's own download, or refused with the
name, where ingest looked and how to get it (exit 2).
"""

from __future__ import annotations

from pathlib import Path

import structlog

from ingest.engines import catalog, checkpoints, weights
from ingest.engines.weights import ModelRef
from ingest.errors import ConfigError

log = structlog.get_logger(__name__)
SETTING = "transcribe.model (or INGEST_TRANSCRIBE__MODEL, --model)"


def require(engine: str, spec: str, models_dir: Path) -> ModelRef:
    """The model ``spec`` resolves to for ``engine``, downloaded now if it has to be."""
    openai = engine == catalog.OPENAI
    ref = (checkpoints.resolve if openai else weights.resolve)(spec, models_dir)
    if ref.source != "download":
        return ref
    known = _known_names(openai)
    if spec not in known and "/" not in spec:
        raise ConfigError(
            f"{SETTING} = {spec!r}: {engine} has no model of that name, and it is not a folder "
            f"(names: {', '.join(known)}; offline here: {_offline(models_dir)})"
        )
    log.info("model_downloading", engine=engine, model=spec, why="not available offline")
    try:
        _download(openai, spec)
    except Exception as exc:  # noqa: BLE001 - any failure of the engine's download means: not available
        raise ConfigError(
            f"{SETTING} = {spec!r}: not available offline, and {engine} could not download it "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}). Looked in "
            f"{models_dir / spec}/, in the weights shipped in installed packages and in the engine's "
            f"download cache. Offline here: {_offline(models_dir)} (`ingest models` lists them). To add "
            f"{spec!r}, put its CTranslate2 folder (model.bin, config.json, tokenizer.json, vocabulary.txt) "
            f"in {models_dir / spec}/, or start ingest once where the model hub is reachable"
        ) from None
    return ref


def _known_names(openai: bool) -> list[str]:
    if openai:
        import whisper

        return list(whisper.available_models())
    from faster_whisper.utils import available_models

    return list(available_models())


def _download(openai: bool, name: str) -> None:
    """The engine's own download into its own cache, as a job would do it, but once."""
    if openai:
        import whisper

        # The download half of whisper.load_model (it checks the file's sha256), without
        # loading gigabytes into memory just to see that they are there.
        whisper._download(whisper._MODELS[name], str(checkpoints.whisper_cache()), False)
        return
    from faster_whisper.utils import download_model

    download_model(name)


def _offline(models_dir: Path) -> str:
    engines = (catalog.FASTER, catalog.OPENAI)
    names = sorted({e.name for e in catalog.entries(models_dir) if e.path and e.engine in engines})
    return ", ".join(names) or "none"
