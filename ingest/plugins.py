"""The plugin host: one pluggy manager, fed from the ``ingest`` entry-point group.

Built-in plugins are declared as entry points of this distribution and load exactly
like third-party ones. A plugin that fails to import is logged and skipped.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

import pluggy
import structlog
from pydantic import BaseModel, ValidationError

from ingest import hookspecs
from ingest.errors import ConfigError
from ingest.settings.secrets import masked, secret_like

if TYPE_CHECKING:
    from ingest.settings import Settings

log = structlog.get_logger(__name__)

GROUP = "ingest"
hookimpl = pluggy.HookimplMarker(GROUP)


@dataclass(frozen=True)
class EngineInfo:
    """What an engine plugin says about itself (for ``doctor`` and validation)."""

    name: str
    available: bool
    device: str = ""  # what ``auto`` picks here: "cpu", "cuda:0"
    compute_type: str = ""
    detail: str = ""  # why it is unavailable, or anything else worth saying


@dataclass(frozen=True)
class PluginInfo:
    name: str
    module: str
    version: str
    source: str  # the distribution that declared it
    enabled: bool
    error: str | None = None


class Host:
    """A loaded plugin manager plus what we learned while loading."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.infos: list[PluginInfo] = []
        self.settings: dict[str, BaseModel] = {}

    @property
    def hook(self) -> pluggy.HookRelay:
        return self.pm.hook

    def register(self, module: ModuleType, name: str) -> None:
        self.pm.register(module, name=name)

    @contextlib.contextmanager
    def serving(self, settings: Settings, command: str = "process") -> Iterator[Host]:
        """Plugins started for the work inside the block (startup/shutdown hooks)."""
        # Startup inside the try: when a later plugin refuses to start, the ones already
        # started must still stop (join their threads), or the program would hang at exit.
        try:
            self.hook.ingest_startup(settings=settings, plugin_config=dict(self.settings), command=command)
            yield self
        finally:
            self.hook.ingest_shutdown()

    def engines(self) -> list[EngineInfo]:
        return [info for infos in self.hook.ingest_engines() for info in infos]

    def formats(self) -> set[str]:
        return {fmt for fmts in self.hook.ingest_formats() for fmt in fmts}


def load(disabled: list[str] | tuple[str, ...] = (), raw_settings: dict[str, dict] | None = None) -> Host:
    """Load every plugin of the entry-point group, except the disabled ones."""
    host = Host()
    for ep in sorted(importlib.metadata.entry_points(group=GROUP), key=lambda e: e.name):
        dist = ep.dist.name if ep.dist else "unknown"
        version = ep.dist.version if ep.dist else ""
        if ep.name in disabled:
            host.infos.append(PluginInfo(ep.name, ep.value, version, dist, enabled=False))
            continue
        try:
            module = ep.load()
            host.register(module, ep.name)
        except Exception as exc:  # noqa: BLE001 - a broken third-party plugin must not stop the daemon
            log.error("plugin_load_failed", plugin=ep.name, module=ep.value, error=repr(exc))
            host.infos.append(PluginInfo(ep.name, ep.value, version, dist, False, repr(exc)))
            continue
        host.infos.append(PluginInfo(ep.name, ep.value, version, dist, enabled=True))
    validate_settings(host, raw_settings or {})
    return host


def validate_settings(host: Host, raw: dict[str, dict]) -> None:
    """Validate each plugin's ``[plugins.<name>]`` table against its declared model."""
    declared = dict(pair for pair in host.hook.ingest_plugin_settings() if pair)
    # A disabled or broken plugin keeps its table: disabling must not need a config edit.
    dormant = {info.name for info in host.infos if not info.enabled} & (set(raw) - set(declared))
    for name in sorted(dormant):
        log.info("plugin_settings_ignored", plugin=name, reason="plugin not loaded")
    unknown = sorted(set(raw) - set(declared) - dormant)
    if unknown:
        raise ConfigError(
            f"plugins.{unknown[0]}: no loaded plugin declares settings by that name "
            f"(known: {', '.join(sorted(declared)) or 'none'})"
        )
    for name, model in declared.items():
        try:
            host.settings[name] = model.model_validate(raw.get(name, {}))
        except ValidationError as exc:
            first = exc.errors()[0]
            key = ".".join(str(p) for p in first["loc"])
            env = f"INGEST_PLUGINS__{name}__{key.replace('.', '__')}".upper()
            shown = masked(first.get("input"), secret_like(first["loc"]))  # a token's value never in a message
            raise ConfigError(f"plugins.{name}.{key} (or {env}) = {shown!r}: {first['msg']}") from None


def engine_names(host: Host) -> list[str]:
    return sorted(info.name for info in host.engines())


def check_choices(host: Host, engine: str, formats: tuple[str, ...] | list[str]) -> None:
    """Fail fast when settings name an engine or format no loaded plugin provides."""
    engines = engine_names(host)
    if engine not in engines:
        raise ConfigError(f"transcribe.engine = {engine!r}: not installed (choose from {', '.join(engines)})")
    known = host.formats()
    for fmt in formats:
        if fmt not in known:
            choices = ", ".join(sorted(known))
            raise ConfigError(f"output.formats: {fmt!r} is not written by any plugin (choose from {choices})")
