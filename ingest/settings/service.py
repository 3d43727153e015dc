"""``[server]``: the HTTP service (``ingest serve``, or ``ingest run`` with ``enabled = true``).

The service listens on loopback unless told otherwise. Its API keys are secrets: read from
``INGEST_SERVER__API_KEYS`` (the environment or the env file, comma-separated), never from
the config file, and never shown (``SecretStr``).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from ingest.notify.pathmap import PathPairs

DEFAULT_PORT = 9000  # whisper-asr-webservice's, where Bazarr looks first
# Jellyfin's user ids are GUIDs, with or without dashes; the id goes into a URL path.
_JELLYFIN_USER = re.compile(r"^[0-9A-Fa-f-]{32,36}$")


def split_address(listen: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:9000`` for IPv6) as (host, port); ``ValueError`` when it is not one."""
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{listen!r} is not HOST:PORT (e.g. 127.0.0.1:{DEFAULT_PORT}, 0.0.0.0:{DEFAULT_PORT})")
    bracketed = host.startswith("[") and host.endswith("]")
    host = host[1:-1] if bracketed else host
    if ":" in host or bracketed:  # an IPv6 address, and only in brackets: fe80::1:9000 is ambiguous
        if not bracketed:
            raise ValueError(f"{listen!r}: write an IPv6 address in brackets, e.g. [::1]:{DEFAULT_PORT}")
        ipaddress.IPv6Address(host)
    return host, int(port)


def _split_keys(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class ServiceSettings(BaseModel):
    """``[server]``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False  # `ingest run` serves HTTP too; `ingest serve` always does
    listen: str = f"127.0.0.1:{DEFAULT_PORT}"
    max_upload_mb: int = Field(2048, ge=1)  # a larger upload is refused (413) and its spool removed
    # A finished request's result is kept this long: a client that lost the connection and
    # asks again gets it at once instead of a second run.
    result_keep_seconds: float = Field(3600.0, ge=0)
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)  # INGEST_SERVER__API_KEYS only
    trusted_networks: Annotated[list[str], NoDecode] = Field(default_factory=list)  # no key needed from these
    # Webhooks: each sender's view of the library, as the media-server plugins' path_map
    # (ingest's prefix, then the sender's); Jellyfin's and Plex's default to their plugin's.
    path_maps: dict[str, PathPairs] = Field(default_factory=dict)
    jellyfin_user: str | None = None  # ask /Users/{id}/Items/{item} (Jellyfin before 10.9)

    _keys = field_validator("api_keys", "trusted_networks", mode="before")(_split_keys)

    @field_validator("path_maps")
    @classmethod
    def _senders(cls, value: dict[str, Any]) -> dict[str, Any]:
        # Imported here: only a config that maps a sender's paths pays for the webhooks' modules.
        from ingest.server.webhooks.values import SENDERS

        unknown = sorted(set(value) - set(SENDERS))
        if unknown:
            raise ValueError(f"{unknown[0]!r} is not a webhook sender; one of {', '.join(SENDERS)}")
        return value

    @field_validator("jellyfin_user")
    @classmethod
    def _user_id(cls, value: str | None) -> str | None:
        if value is not None and not _JELLYFIN_USER.match(value):
            raise ValueError(f"{value!r} is not a Jellyfin user id (32 hex digits, the userId in Dashboard > Users)")
        return value

    @field_validator("listen")
    @classmethod
    def _address(cls, value: str) -> str:
        split_address(value)
        return value

    @property
    def host(self) -> str:
        return split_address(self.listen)[0]

    @property
    def port(self) -> int:
        return split_address(self.listen)[1]
