"""Who may use the HTTP service: API keys, trusted networks, and the paths open to all.

Safe by default: a server bound to loopback only (127.0.0.1, the default) serves everyone
who can reach it, which is this machine. Bound to any other address, every request but
``/status`` and ``/health`` (Bazarr's Test button, health checks) needs either

- an API key, as ``Authorization: Bearer <key>`` (the OpenAI SDKs), ``X-API-Key: <key>``,
  ``Authorization: Basic`` with the key as the password (Sonarr's and Radarr's webhook
  username/password), or a ``/k/<key>/`` path prefix for clients that can send no header
  (Plex's and Emby's webhooks): the prefix is stripped and the rest routed; or
- a client address inside ``trusted_networks`` (Bazarr sends no key at all). Behind a
  reverse proxy that address is the proxy's unless uvicorn is told to trust its headers.

Keys are compared in constant time against every configured key. A refusal is a 401 with
``WWW-Authenticate: Bearer`` and ``x-should-retry: false`` (the OpenAI SDKs would otherwise
retry), a JSON body, OpenAI's error shape under ``/v1/``. No key is ever logged: a refusal
logs the client's address and the path, and a ``/k/<key>/`` prefix is cut from the request's
path in place, so the access log never sees it either.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import json
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network

import structlog
from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

from ingest.errors import ConfigError

log = structlog.get_logger(__name__)

OPEN_PATHS = frozenset({"/status", "/health"})
Network = IPv4Network | IPv6Network


def is_loopback(host: str) -> bool:
    """Whether listening on ``host`` reaches this machine only (``127.0.0.1``, ``::1``, ``localhost``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Access:
    """The rules the middleware applies; build it with ``Access.of`` from the settings."""

    keys: tuple[SecretStr, ...] = ()
    trusted_networks: tuple[Network, ...] = ()
    loopback_only: bool = True
    open_paths: frozenset[str] = OPEN_PATHS

    @classmethod
    def of(
        cls,
        keys: Iterable[SecretStr | str] = (),
        trusted_networks: Iterable[str | Network] = (),
        loopback_only: bool = True,
    ) -> Access:
        """Keys as secrets, networks parsed (``ConfigError`` naming a bad one or an empty key)."""
        secrets = tuple(key if isinstance(key, SecretStr) else SecretStr(key) for key in keys)
        if any(not key.get_secret_value().strip() for key in secrets):
            raise ConfigError("server.api_keys: a key is empty")
        return cls(secrets, tuple(_network(entry) for entry in trusted_networks), loopback_only)

    def check(self) -> None:
        """At start: a server others can reach must let someone in (``ConfigError`` otherwise)."""
        if not self.loopback_only and not self.keys and not self.trusted_networks:
            raise ConfigError(
                "server.listen is not a loopback address, so every request needs an API key or a trusted "
                "network: set INGEST_SERVER__API_KEYS (environment or env file) or server.trusted_networks"
            )

    def trusts(self, host: str | None) -> bool:
        """Whether the client at ``host`` needs no key."""
        if host is None or not self.trusted_networks:
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:  # a Unix socket's peer, or a test client's made-up name
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.trusted_networks)


def _network(entry: str | Network) -> Network:
    if isinstance(entry, (IPv4Network, IPv6Network)):
        return entry
    try:
        return ipaddress.ip_network(entry.strip(), strict=False)
    except ValueError as exc:
        example = "write e.g. 192.168.1.0/24"
        raise ConfigError(f"server.trusted_networks: {entry!r} is not a network ({exc}); {example}") from exc


class AuthMiddleware:
    """Pure ASGI middleware applying ``Access``: ``app.add_middleware(AuthMiddleware, access=access)``."""

    def __init__(self, app: ASGIApp, access: Access) -> None:
        self.app = app
        self.access = access
        self._keys = tuple(key.get_secret_value().strip().encode() for key in access.keys)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        prefixed = _strip_key_prefix(scope)
        refusal = self._refusal(scope, prefixed)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        host = client[0] if client else None
        path, prefixed_path = route_path(scope), prefixed is not None
        log.warning("auth_refused", client=host, path=path, reason=refusal, key_in_path=prefixed_path)
        await _refuse(scope, send, refusal)

    def _refusal(self, scope: Scope, prefixed: bytes | None) -> str | None:
        """Why the request may not pass, or None when it may."""
        if self.access.loopback_only or route_path(scope) in self.access.open_paths:
            return None
        client = scope.get("client")
        if self.access.trusts(client[0] if client else None):
            return None
        presented = _presented(scope["headers"]) + ([prefixed] if prefixed is not None else [])
        if not presented:
            return "no API key"
        matched = False
        for candidate in presented:  # every candidate against every key: the time says nothing
            for key in self._keys:
                matched |= hmac.compare_digest(candidate, key)
        return None if matched else "wrong API key"


def route_path(scope: Scope) -> str:
    """The path the app routes: without the ``root_path`` a reverse proxy's prefix puts in front."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _strip_key_prefix(scope: Scope) -> bytes | None:
    """The key of a ``/k/<key>/...`` path, cut from the scope's path in place (so no log sees it)."""
    route = route_path(scope)
    key, _, rest = route[3:].partition("/")
    if not route.startswith("/k/") or not key:
        return None
    before = scope["path"][: len(scope["path"]) - len(route)]  # the root path, when the path holds it
    scope["path"] = before + "/" + rest
    raw = scope.get("raw_path")
    at = raw.find(b"/k/") if isinstance(raw, bytes) else -1
    if isinstance(raw, bytes) and at >= 0:
        scope["raw_path"] = raw[:at] + b"/" + raw[at + 3 :].partition(b"/")[2]
    return key.encode("utf-8", "replace")


def _presented(headers: Iterable[tuple[bytes, bytes]]) -> list[bytes]:
    """The keys a request's headers offer: Bearer, X-API-Key, a Basic password."""
    found = []
    for name, value in headers:
        if name == b"x-api-key" and value.strip():
            found.append(value.strip())
        elif name == b"authorization":
            scheme, _, credentials = value.strip().partition(b" ")
            if scheme.lower() == b"bearer" and credentials.strip():
                found.append(credentials.strip())
            elif scheme.lower() == b"basic":
                found.extend(_basic_password(credentials.strip()))
    return found


def _basic_password(credentials: bytes) -> list[bytes]:
    try:
        decoded = base64.b64decode(credentials, validate=True)
    except (binascii.Error, ValueError):
        return [credentials]  # not base64: compared as it came
    return [decoded.partition(b":")[2]]


async def _refuse(scope: Scope, send: Send, refusal: str) -> None:
    """401 with a JSON body (OpenAI's shape under /v1/); a WebSocket is closed before it opens (403)."""
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": refusal})
        return
    message = f"{refusal}: send Authorization: Bearer <key>, X-API-Key: <key>, or use the /k/<key>/ path prefix"
    if route_path(scope).startswith("/v1/"):
        code = "invalid_api_key" if refusal == "wrong API key" else "missing_api_key"
        document: dict[str, object] = {
            "error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}
        }
    else:
        document = {"detail": message}
    body = json.dumps(document).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"www-authenticate", b'Bearer realm="ingest"'),
        (b"x-should-retry", b"false"),
    ]
    await send({"type": "http.response.start", "status": 401, "headers": headers})
    await send({"type": "http.response.body", "body": body})
