"""Settings: a TOML file plus ``INGEST_`` environment variables, validated up front.

Order of precedence (highest first): command-line options, ``INGEST_...`` variables
(nested keys joined by ``__``: ``INGEST_TRANSCRIBE__MODEL=base``), an env file, the
TOML file, defaults. Secrets are read only from the environment or an env file, and no
error echoes one (``ingest.settings.secrets``). An ``INGEST_`` variable no setting reads
is logged as a warning, not ignored in silence (``ingest.settings.environment``).
The sections (``AudioSettings`` and the rest) live in ``ingest.sections``, re-exported here.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

import structlog
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from ingest.engines import weights
from ingest.errors import ConfigError
from ingest.log import setup as setup_logging
from ingest.settings import environment
from ingest.settings.secrets import SECRET_KEYS, masked, secret_like, where_they_go
from ingest.settings.sections import (
    AudioSettings,
    CsvList,
    CueSettings,
    DaemonSettings,
    DiarizeSettings,
    FilterSettings,
    OutputSettings,
    SpeechSettings,
    TranscribeSettings,
    WatchSettings,
    default_state_dir,
    split_csv,
    xdg_dir,
)
from ingest.settings.service import ServiceSettings

__all__ = [
    "SECRET_KEYS",
    "AudioSettings",
    "CsvList",
    "CueSettings",
    "DaemonSettings",
    "DiarizeSettings",
    "FilterSettings",
    "OutputSettings",
    "ServiceSettings",
    "Settings",
    "SpeechSettings",
    "TranscribeSettings",
    "WatchSettings",
    "default_config_file",
    "default_state_dir",
    "describe",
    "load",
    "split_csv",
    "unknown_variables",
]

log = structlog.get_logger(__name__)

_config_file: ContextVar[Path | None] = ContextVar("ingest_config_file", default=None)


class _SecretlessToml(TomlConfigSettingsSource):
    """The TOML source, refusing secrets: config files get copied and shared."""

    def __call__(self) -> dict[str, Any]:
        data = super().__call__()
        leaked = sorted(SECRET_KEYS & data.keys())
        server = data.get("server")
        if isinstance(server, dict) and "api_keys" in server:
            raise ConfigError(
                f"{self.toml_file_path}: server.api_keys must not be in the config file; secrets go in the "
                "environment: set INGEST_SERVER__API_KEYS there or in the env file (comma-separated)"
            )
        if leaked:
            raise ConfigError(
                f"{self.toml_file_path}: {leaked[0]} must not be in the config file; {where_they_go(leaked[0])}"
            )
        return data


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INGEST_", env_nested_delimiter="__", extra="forbid", frozen=True)

    audio: AudioSettings = AudioSettings()
    transcribe: TranscribeSettings = TranscribeSettings()
    output: OutputSettings = OutputSettings()
    diarize: DiarizeSettings = DiarizeSettings()
    cues: CueSettings = CueSettings()
    speech: SpeechSettings = SpeechSettings()
    filters: FilterSettings = FilterSettings()
    watches: list[WatchSettings] = Field(default_factory=list)
    daemon: DaemonSettings = Field(default_factory=DaemonSettings)
    server: ServiceSettings = ServiceSettings()
    plugins: dict[str, dict[str, Any]] = Field(default_factory=dict)
    disabled_plugins: CsvList = Field(default_factory=list)
    models_dir: Path = Field(default_factory=weights.default_models_dir)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["auto", "console", "json"] = "auto"
    hf_token: SecretStr | None = None
    # Secrets of the notifier and media-server plugins: environment or env file only,
    # never logged in clear (SecretStr prints as '**********').
    apprise_urls: SecretStr | None = None  # space- or comma-separated apprise URLs
    jellyfin_api_key: SecretStr | None = None
    plex_token: SecretStr | None = None

    _csv = field_validator("disabled_plugins", mode="before")(split_csv)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources = [init_settings, env_settings, dotenv_settings, file_secret_settings]
        toml_file = _config_file.get()
        if toml_file is not None:
            sources.append(_SecretlessToml(settings_cls, toml_file=toml_file))
        return tuple(sources)


def default_config_file() -> Path | None:
    """``$INGEST_CONFIG``, else the first of the usual places that exists."""
    if os.environ.get("INGEST_CONFIG"):
        return Path(os.environ["INGEST_CONFIG"])
    for candidate in (xdg_dir("XDG_CONFIG_HOME", ".config") / "ingest/ingest.toml", Path("/etc/ingest/ingest.toml")):
        if candidate.is_file():
            return candidate
    return None


def load(config_file: Path | None = None, env_file: Path | None = None, **overrides: Any) -> Settings:
    """Build validated settings or raise ``ConfigError`` naming every bad key."""
    config_file = config_file or default_config_file()
    if config_file is not None and not config_file.is_file():
        raise ConfigError(f"config file {config_file} does not exist")
    env_file = env_file or (Path(os.environ["INGEST_ENV_FILE"]) if os.environ.get("INGEST_ENV_FILE") else None)
    if env_file is not None and not env_file.is_file():
        raise ConfigError(f"env file {env_file} does not exist")
    token = _config_file.set(config_file)
    try:
        conf = Settings(_env_file=env_file, **overrides)
    except ValidationError as exc:
        raise ConfigError(describe(exc, config_file)) from None
    except ValueError as exc:  # a TOML syntax error or an env value that is not JSON
        raise ConfigError(f"{config_file or 'environment'}: {exc}") from None
    finally:
        _config_file.reset(token)
    _warn_unknown_variables(conf)
    return conf


def unknown_variables() -> list[tuple[str, str | None]]:
    """The ``INGEST_`` variables of this process no setting reads, each with the real name
    it most likely meant (``ingest.settings.environment``)."""
    return environment.unknown(os.environ, Settings)


def _warn_unknown_variables(conf: Settings) -> None:
    """A warning per variable, not a refusal: other tools may set ``INGEST_`` variables of
    their own. The name only: its value may be a secret. ``status`` and ``retry`` set up no
    logging, and structlog unconfigured would print onto their stdout, so set it up here."""
    found = unknown_variables()
    if found and not structlog.is_configured():
        setup_logging(conf.log_level, conf.log_format)
    for name, near in found:
        log.warning("unknown_setting_variable", variable=name, nearest=near)


def describe(exc: ValidationError, source: Path | None) -> str:
    """One line per bad key: where, the value given, and what is allowed."""
    header = f"invalid settings ({source or 'defaults and environment'}):"
    return "\n".join([header, *(_error_line(err) for err in exc.errors())])


def _error_line(err: ErrorDetails) -> str:
    """``key (or INGEST_KEY) = value: what is wrong``, with any value that may be a secret
    masked (``ingest.settings.secrets``): messages get pasted into bug reports and chats."""
    key = ".".join(str(p) for p in err["loc"])
    env = "INGEST_" + "__".join(str(p) for p in err["loc"] if not isinstance(p, int)).upper()
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = "unknown key"
    shown = masked(err["input"], secret_like(err["loc"]))
    if shown != err["input"]:
        if isinstance(err["input"], str) and err["input"]:
            message = message.replace(err["input"], repr(shown))
        if err["type"] == "extra_forbidden":
            message += f"; {where_they_go(str(err['loc'][-1]))}"
    return f"  {key} (or {env}) = {shown!r}: {message}"
