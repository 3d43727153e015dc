"""The access middleware in front of a real uvicorn on loopback, driven by real clients.

A tiny Starlette app stands in for the service: ``/echo`` answers with the path and query
it was routed, so a test sees what the middleware let through and what it stripped.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator

import openai
import pytest
import requests
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from structlog.testing import capture_logs

from ingest.errors import ConfigError
from ingest.server.auth import Access, AuthMiddleware, is_loopback
from tests.support.asgiserve import serving
from tests.support.logkit import debug_json_logs

KEY = "k3y-Of-the-house-5f0c8e2a"
OTHER = "second-key-91b7d0c4"
WRONG = "wrong-key-that-guesses-0000"


async def echo(request: Request) -> JSONResponse:
    return JSONResponse(
        {"path": request.url.path, "query": request.url.query, "raw": request.scope["raw_path"].decode()}
    )


async def status(request: Request) -> JSONResponse:
    return JSONResponse({"version": "0.1.0"})


async def models(request: Request) -> JSONResponse:
    return JSONResponse(
        {"object": "list", "data": [{"id": "whisper-1", "object": "model", "created": 0, "owned_by": "x"}]}
    )


def app(access: Access) -> Starlette:
    routes = [
        Route("/status", status),
        Route("/health", status),
        Route("/echo", echo, methods=["GET", "POST"]),
        Route("/v1/models", models),
    ]
    service = Starlette(routes=routes)
    service.add_middleware(AuthMiddleware, access=access)
    return service


PUBLIC = Access.of([KEY, SecretStr(OTHER)], loopback_only=False)


@pytest.fixture(scope="module")
def public() -> Iterator[str]:
    with serving(app(PUBLIC)) as url:
        yield url


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize("path", ["/status", "/health"])
def test_status_and_health_are_open_to_everyone(public, path):
    answer = requests.get(public + path, timeout=5)
    assert answer.status_code == 200
    assert answer.json() == {"version": "0.1.0"}


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"Bearer {KEY}"},
        {"authorization": f"bearer {OTHER}"},  # the second key; the scheme in any case
        {"X-API-Key": KEY},
        {"Authorization": basic("sonarr", KEY)},  # Sonarr's and Radarr's webhook username/password
    ],
)
def test_each_key_form_passes(public, headers):
    answer = requests.post(public + "/echo?task=transcribe", headers=headers, data=b"x", timeout=5)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"path": "/echo", "query": "task=transcribe", "raw": "/echo"}


def test_the_key_prefix_is_stripped_and_the_rest_routed(public):
    answer = requests.get(f"{public}/k/{KEY}/echo?output=srt", timeout=5)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"path": "/echo", "query": "output=srt", "raw": "/echo"}
    assert requests.get(f"{public}/k/{OTHER}/status", timeout=5).status_code == 200


@pytest.mark.parametrize(
    ("url", "headers", "reason"),
    [
        ("/echo", {}, "no API key"),
        ("/echo", {"Authorization": f"Bearer {WRONG}"}, "wrong API key"),
        ("/echo", {"X-API-Key": WRONG}, "wrong API key"),
        ("/echo", {"Authorization": basic("sonarr", WRONG)}, "wrong API key"),
        ("/echo", {"Authorization": f"Bearer {KEY[:-1]}"}, "wrong API key"),
        (f"/k/{WRONG}/echo", {}, "wrong API key"),
        ("/docs", {"Authorization": "Token nothing-we-read"}, "no API key"),
    ],
)
def test_a_missing_or_wrong_key_gets_a_401_in_json(public, url, headers, reason):
    answer = requests.get(public + url, headers=headers, timeout=5)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert answer.headers["x-should-retry"] == "false"
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["detail"].startswith(reason + ":")


def test_under_v1_the_refusal_has_openais_shape_and_the_sdk_does_not_retry(public):
    client = openai.OpenAI(base_url=public + "/v1", api_key=WRONG, max_retries=2, timeout=10)
    with capture_logs() as logs, pytest.raises(openai.AuthenticationError) as refused:
        client.models.list()
    client.close()
    assert refused.value.status_code == 401
    assert refused.value.code == "invalid_api_key"
    error = refused.value.body
    assert isinstance(error, dict)
    assert error["type"] == "invalid_request_error"
    assert error["param"] is None
    assert len([e for e in logs if e["event"] == "auth_refused"]) == 1  # x-should-retry: false, so one try
    good = openai.OpenAI(base_url=public + "/v1", api_key=KEY, max_retries=0, timeout=10)
    assert [m.id for m in good.models.list()] == ["whisper-1"]
    good.close()


def test_missing_key_under_v1_says_so(public):
    answer = requests.get(public + "/v1/models", timeout=5)
    assert answer.status_code == 401
    error = answer.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == "missing_api_key"


def test_a_trusted_network_needs_no_key_and_others_do():
    trusted = Access.of([KEY], trusted_networks=["192.168.1.0/24", "127.0.0.0/8"], loopback_only=False)
    with serving(app(trusted)) as url:
        assert requests.post(url + "/echo", data=b"pcm", timeout=5).status_code == 200  # as Bazarr sends: no key
    elsewhere = Access.of([KEY], trusted_networks=["10.0.0.0/8", "fd00::/8"], loopback_only=False)
    with serving(app(elsewhere)) as url:
        assert requests.post(url + "/echo", data=b"pcm", timeout=5).status_code == 401
        assert requests.post(url + "/echo", headers={"X-API-Key": KEY}, timeout=5).status_code == 200


def test_bound_to_loopback_only_everything_passes_and_a_prefix_is_still_stripped():
    with serving(app(Access.of())) as url:
        assert requests.get(url + "/echo", timeout=5).json()["path"] == "/echo"
        assert requests.get(f"{url}/k/anything/echo", timeout=5).json()["path"] == "/echo"


def test_no_key_reaches_any_log_and_refusals_name_the_client_and_path(public):
    with debug_json_logs() as stream:
        requests.get(f"{public}/k/{KEY}/echo", timeout=5)
        requests.get(f"{public}/k/{WRONG}/echo", timeout=5)
        requests.get(public + "/echo", headers={"Authorization": f"Bearer {WRONG}"}, timeout=5)
        requests.get(public + "/echo", headers={"X-API-Key": KEY}, timeout=5)
        requests.get(public + "/echo", headers={"Authorization": basic("u", KEY)}, timeout=5)
    text = stream.getvalue()
    assert '"logger": "uvicorn.access"' in text  # uvicorn's access log was captured too
    for secret in (KEY, WRONG, base64.b64encode(f"u:{KEY}".encode()).decode()):
        assert secret not in text
    refused = [line for line in text.splitlines() if '"auth_refused"' in line]
    assert len(refused) == 2
    assert all('"client": "127.0.0.1"' in line and '"path": "/echo"' in line for line in refused)


def test_access_rules_are_checked_at_start():
    with pytest.raises(ConfigError, match=r"trusted_networks.*'192\.168\.1\.0/33'"):
        Access.of(trusted_networks=["192.168.1.0/33"])
    with pytest.raises(ConfigError, match="empty"):
        Access.of(["  "])
    with pytest.raises(ConfigError, match="INGEST_SERVER__API_KEYS"):
        Access.of(loopback_only=False).check()
    Access.of(trusted_networks=["192.168.1.7"], loopback_only=False).check()  # a host is a /32
    Access.of().check()
    assert "k3y" not in repr(PUBLIC)


def test_trust_reads_ipv4_mapped_ipv6_and_ignores_what_is_not_an_address():
    access = Access.of(trusted_networks=["192.168.1.0/24", "fd00::/8"], loopback_only=False)
    assert access.trusts("192.168.1.20")
    assert access.trusts("::ffff:192.168.1.20")
    assert access.trusts("fd12::1")
    assert not access.trusts("192.168.2.1")
    assert not access.trusts("testclient")
    assert not access.trusts(None)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        *[("127.0.0.1", True), ("::1", True), ("[::1]", True), ("localhost", True), ("127.0.0.2", True)],
        *[("0.0.0.0", False), ("::", False), ("192.168.1.5", False), ("nas.lan", False)],
    ],
)
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_a_websocket_without_a_key_is_closed_before_it_opens_and_lifespan_passes():
    sent: list[dict] = []
    reached: list[str] = []

    async def inner(scope, receive, send):
        reached.append(scope["type"])

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "websocket.connect"}

    middleware = AuthMiddleware(inner, PUBLIC)
    scope = {"type": "websocket", "path": "/live", "raw_path": b"/live", "headers": [], "client": ("10.1.2.3", 5)}
    asyncio.run(middleware(scope, receive, send))
    assert sent == [{"type": "websocket.close", "code": 1008, "reason": "no API key"}]
    keyed = {**scope, "path": f"/k/{KEY}/live", "raw_path": f"/k/{KEY}/live".encode()}
    asyncio.run(middleware(keyed, receive, send))
    asyncio.run(middleware({"type": "lifespan"}, receive, send))
    assert reached == ["websocket", "lifespan"]
    assert keyed["path"] == "/live"


def test_behind_a_proxys_root_path_the_prefix_and_open_paths_are_found_after_it():
    seen: list[tuple[str, bytes]] = []

    async def inner(scope, receive, send):
        seen.append((scope["path"], scope["raw_path"]))

    async def send(message):
        raise AssertionError(f"refused: {message}")

    async def receive():
        return {"type": "http.request", "body": b""}

    middleware = AuthMiddleware(inner, PUBLIC)
    base = {"type": "http", "root_path": "/ingest", "headers": [], "client": ("10.1.2.3", 5)}
    raw = f"/ingest/k/{KEY}/echo".encode()
    asyncio.run(middleware({**base, "path": raw.decode(), "raw_path": raw}, receive, send))
    asyncio.run(middleware({**base, "path": "/ingest/status", "raw_path": b"/ingest/status"}, receive, send))
    assert seen == [("/ingest/echo", b"/ingest/echo"), ("/ingest/status", b"/ingest/status")]
