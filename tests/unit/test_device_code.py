"""The device authorization grant (RFC 8628) on canned answers with a fake
clock: the request and response (§3.1, §3.2), polling at ``interval``,
``slow_down`` adding 5 s, ``access_denied`` / ``expired_token`` (exit 5),
the code's expiry, no device endpoint (usage error), and a DPoP proof on
every poll. Nothing sleeps for real."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import jwt
import pytest

from authkit_mcp_cli.client.context import Context, LoginOptions
from authkit_mcp_cli.client.grants.device_code import DeviceCodeGrant
from authkit_mcp_cli.client.grants.registry import grant_for
from authkit_mcp_cli.discovery import Discovered
from authkit_mcp_cli.errors import AuthorizationDenied, ExitCode, ProtocolError, UsageError
from authkit_mcp_cli.http import HttpPolicy, HttpSession
from authkit_mcp_cli.oauth.client_auth import ClientRegistration
from authkit_mcp_cli.oauth.device import classify_poll, device_authorization_request, device_token_request, parse_device_authorization
from authkit_mcp_cli.oauth.grant_types import DEVICE_CODE
from authkit_mcp_cli.store import Store

AS = "http://127.0.0.1:9"
META = {"issuer": AS, "token_endpoint": f"{AS}/token", "device_authorization_endpoint": f"{AS}/device/auth", "registration_endpoint": f"{AS}/register"}
RESOURCE = "http://127.0.0.1:8/mcp"
DEVICE = {"device_code": "dc-secret", "user_code": "ABCD-EFGH", "verification_uri": f"{AS}/device", "verification_uri_complete": f"{AS}/device?user_code=ABCD-EFGH", "expires_in": 60, "interval": 2}


def test_requests_carry_resource_and_the_client():
    reg = ClientRegistration("cid")
    req = device_authorization_request(META, reg, scope="mcp:tools", resource=RESOURCE)
    assert req.url == META["device_authorization_endpoint"]
    assert parse_qs(req.body.decode()) == {"resource": [RESOURCE], "scope": ["mcp:tools"], "client_id": ["cid"]}
    poll = device_token_request(META, reg, device_code="dc", resource=RESOURCE)
    assert parse_qs(poll.body.decode()) == {"grant_type": [DEVICE_CODE], "device_code": ["dc"], "resource": [RESOURCE], "client_id": ["cid"]}


def test_device_authorization_response():
    auth = parse_device_authorization(200, json.dumps({k: v for k, v in DEVICE.items() if k != "interval"}).encode())
    assert auth.user_code == "ABCD-EFGH" and auth.interval == 5 and auth.expires_in == 60  # §3.2: interval defaults to 5
    with pytest.raises(ProtocolError) as bad:
        parse_device_authorization(200, b'{"device_code":"x"}')
    assert bad.value.code == "oauth.invalid-device-response"


def test_classify_poll():
    assert classify_poll(400, b'{"error":"authorization_pending"}') == "pending"
    assert classify_poll(400, b'{"error":"slow_down"}') == "slow_down"
    assert classify_poll(200, b"{}") == "tokens"
    for error, code in (("access_denied", "login.device-denied"), ("expired_token", "login.device-expired")):
        with pytest.raises(AuthorizationDenied) as stop:
            classify_poll(400, json.dumps({"error": error}).encode())
        assert stop.value.code == code and stop.value.exit_code == ExitCode.DENIED == 5


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def run_grant(answers: list[tuple[int, dict]], *, dpop: bool = False, device: dict | None = None, metadata: dict | None = None):
    """Run the grant against canned token-endpoint answers; returns (result or error, clock, token requests)."""
    polls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/device/auth":
            return httpx.Response(200, json=device or DEVICE)
        polls.append(request)
        status, body = answers.pop(0)
        return httpx.Response(status, json=body)

    clock = FakeClock()
    grant = DeviceCodeGrant(LoginOptions(client_id="cid", grant="device_code", dpop=dpop), sleep=clock.sleep, clock=clock)
    reports: list[tuple[str, str]] = []
    ctx = Context(client=httpx.AsyncClient(transport=httpx.MockTransport(handler)), http=HttpSession(HttpPolicy(timeout=5, allow_insecure=True)), store=Store(Path("/nonexistent-unused")), report=lambda s, d: reports.append((s, d)))
    disc = Discovered(RESOURCE, RESOURCE, {}, "", None, AS, metadata or META, "")
    try:
        result: object = asyncio.run(grant.obtain(ctx, disc, "mcp:tools"))
    except Exception as exc:  # noqa: BLE001 - the test inspects it
        result = exc
    return result, clock, polls, reports


PENDING = (400, {"error": "authorization_pending"})
SLOW = (400, {"error": "slow_down"})
TOKENS = (200, {"access_token": "at", "token_type": "Bearer", "expires_in": 60, "refresh_token": "rt"})


def test_polls_at_the_interval_and_slow_down_adds_five_seconds():
    result, clock, polls, reports = run_grant([PENDING, SLOW, PENDING, TOKENS])
    reg, tokens = result  # type: ignore[misc]
    assert tokens.access_token == "at" and tokens.grant_type == "device_code" and reg.client_id == "cid"
    assert clock.slept == [2, 2, 7, 7] and len(polls) == 4
    shown = " ".join(d for s, d in reports if s == "device")
    assert f"{AS}/device" in shown and "ABCD-EFGH" in shown and DEVICE["verification_uri_complete"] in shown
    assert "dc-secret" not in shown


@pytest.mark.parametrize(("error", "code"), [("access_denied", "login.device-denied"), ("expired_token", "login.device-expired")])
def test_denied_or_expired_ends_with_exit_5(error, code):
    result, clock, polls, _ = run_grant([PENDING, (400, {"error": error})])
    assert isinstance(result, AuthorizationDenied) and result.code == code and result.exit_code == 5
    assert len(polls) == 2


def test_the_code_expires_without_an_answer():
    result, clock, polls, _ = run_grant([PENDING] * 100, device={**DEVICE, "expires_in": 10, "interval": 3})
    assert isinstance(result, AuthorizationDenied) and result.code == "login.device-expired"
    assert clock.slept == [3, 3, 3] and clock.now - 1000 <= 10


def test_no_device_endpoint_is_a_usage_error():
    result, _, polls, _ = run_grant([], metadata={k: v for k, v in META.items() if k != "device_authorization_endpoint"})
    assert isinstance(result, UsageError) and result.code == "usage.device-code-unsupported" and polls == []


def test_every_poll_carries_a_fresh_dpop_proof():
    result, _, polls, _ = run_grant([PENDING, (200, {"access_token": "at", "token_type": "DPoP"})], dpop=True)
    _, tokens = result  # type: ignore[misc]
    proofs = [jwt.decode(p.headers["dpop"], options={"verify_signature": False}) for p in polls]
    assert len({p["jti"] for p in proofs}) == 2 and all(p["htu"] == META["token_endpoint"] for p in proofs)
    assert tokens.token_type == "DPoP" and tokens.dpop_key


def test_the_cli_name_maps_to_the_grant():
    assert isinstance(grant_for(LoginOptions(grant="device_code")), DeviceCodeGrant)
