"""serve's token validation and edges, over HTTP, with an AS whose keys the test holds."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from authkit_mcp_cli.challenge import Challenges
from authkit_mcp_cli.server.app import build_app
from authkit_mcp_cli.server.config import resolve_serve_config
from peers.asgi import serve_asgi
from peers.key_as import KeyAS

pytestmark = pytest.mark.integration

MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
INIT = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def world():
    key_as = KeyAS()
    key_as.add_key("k1")
    with serve_asgi(key_as.app) as as_base:
        cfg = resolve_serve_config({}, host="127.0.0.1", port=0, path=None, base_url=None, authkit_domain=as_base, required_scopes="mcp:tools", auto_approve=False, allowed_hosts=[], stateless=False, workers=1)
        holder = {}

        def factory(base):
            app, info = build_app(cfg, int(base.rsplit(":", 1)[1]))
            holder["info"], holder["app"] = info, app
            return app

        with serve_asgi(factory) as _:
            yield key_as, holder["info"], holder["app"]


def post(info, token: str | None = None, *, headers: dict | None = None, url: str | None = None) -> httpx.Response:
    h = dict(MCP_HEADERS)
    if token is not None:
        h["Authorization"] = f"Bearer {token}"
    h.update(headers or {})
    return httpx.post(url or info.mcp_url, headers=h, content=INIT, timeout=10)


def bearer(response: httpx.Response):
    return Challenges.read(401, response.headers.get_list("www-authenticate")).bearer


def test_valid_token_passes(world):
    key_as, info, _ = world
    response = post(info, key_as.token(key_as.claims(info.resource)))
    assert response.status_code == 200, response.text


def test_no_credentials_get_a_bare_challenge(world):
    _, info, _ = world
    response = post(info)
    assert response.status_code == 401
    ch = bearer(response)
    assert ch.get("error") is None
    assert ch.get("resource_metadata") == info.prm_url and ch.get("scope") == "mcp:tools"


def _forged(key_as, info):
    claims = key_as.claims(info.resource)
    header_none = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = b64(json.dumps(claims).encode())
    pem = key_as.keys["k1"].public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    hs_header = b64(json.dumps({"alg": "HS256", "kid": "k1"}).encode())
    hs_sig = b64(hmac.new(pem, f"{hs_header}.{payload}".encode(), hashlib.sha256).digest())
    stranger = KeyAS(issuer=key_as.issuer)
    stranger.add_key("k1")
    now = int(time.time())
    return {
        "alg none": (f"{header_none}.{payload}.", "algorithm 'none' is not accepted"),
        "HS256 keyed with the public key": (f"{hs_header}.{payload}.{hs_sig}", "algorithm 'HS256' is not accepted"),
        "stranger's key under a known kid": (stranger.token(claims), "signature is invalid"),
        "expired": (key_as.token(key_as.claims(info.resource, exp=now - 120, iat=now - 900)), "expired"),
        "not yet valid": (key_as.token(key_as.claims(info.resource, nbf=now + 600)), "not valid yet"),
        "wrong issuer": (key_as.token(key_as.claims(info.resource, iss="https://evil.example.com")), "is not this server's authorization server"),
        "wrong audience": (key_as.token(key_as.claims(info.resource, aud="https://other.example.com/api/mcp")), "is not this resource"),
        "no exp": (key_as.token(key_as.claims(info.resource, exp=None)), "no 'exp' claim"),
        "unknown kid": (key_as.token(key_as.claims(info.resource), headers={"kid": "nope"}).replace("", ""), "kid"),
        "crit header": (key_as.token(key_as.claims(info.resource), headers={"crit": ["exp"], "exp": 1}), "'crit'"),
        "WorkOS User Management token": (key_as.token(key_as.claims(info.resource, iss="https://api.workos.com/user_management/client_123")), "WorkOS User Management access token"),
        "garbage": ("garbage", "not a JWT"),
        "oversized": ("a" * 20000, "too large"),
    }


def test_forged_and_invalid_tokens_get_401_invalid_token(world):
    key_as, info, _ = world
    for name, (token, expected) in _forged(key_as, info).items():
        response = post(info, token)
        assert response.status_code == 401, (name, response.status_code)
        ch = bearer(response)
        assert ch.get("error") == "invalid_token", name
        assert expected in ch.get("error_description"), (name, ch.get("error_description"))


def test_audience_list_containing_the_resource_is_accepted(world):
    key_as, info, _ = world
    token = key_as.token(key_as.claims(info.resource, aud=["https://other.example", info.resource]))
    assert post(info, token).status_code == 200


def test_jku_and_x5u_headers_are_ignored(world):
    key_as, info, _ = world
    stranger = KeyAS(issuer=key_as.issuer)
    stranger.add_key("k1")
    token = stranger.token(stranger.claims(info.resource), headers={"jku": "https://evil.example/jwks", "x5u": "https://evil.example/cert"})
    assert post(info, token).status_code == 401


def test_missing_scope_is_403_naming_every_required_scope(world):
    key_as, info, _ = world
    response = post(info, key_as.token(key_as.claims(info.resource, scope="openid")))
    assert response.status_code == 403
    ch = bearer(response)
    assert ch.get("error") == "insufficient_scope" and ch.get("scope") == "mcp:tools" and ch.get("resource_metadata") == info.prm_url


def test_token_in_query_string_is_refused(world):
    key_as, info, _ = world
    token = key_as.token(key_as.claims(info.resource))
    response = post(info, url=info.mcp_url + "?access_token=" + token)
    assert response.status_code == 400 and bearer(response).get("error") == "invalid_request"


@pytest.mark.parametrize(("value", "status"), [("Basic dXNlcjpwYXNz", 401), ("Bearer", 400), ("Bearer a b", 400), ("Token abc", 401)])
def test_malformed_authorization_headers(world, value, status):
    _, info, _ = world
    response = post(info, headers={"Authorization": value})
    assert response.status_code == status
    assert bearer(response) is not None


def test_cors_preflight_needs_no_token_and_exposes_the_challenge(world):
    _, info, _ = world
    pre = httpx.options(info.mcp_url, headers={"Origin": "http://localhost:6274", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type, mcp-protocol-version, mcp-session-id"})
    assert pre.status_code == 200
    assert "authorization" in pre.headers["access-control-allow-headers"].lower()
    response = post(info, headers={"Origin": "http://localhost:6274"})
    assert response.status_code == 401
    assert "www-authenticate" in response.headers["access-control-expose-headers"].lower()


def test_prm_at_both_locations(world):
    _, info, _ = world
    for url in (info.prm_url, info.prm_url.replace("/api/mcp", "")):
        doc = httpx.get(url).json()
        assert doc["resource"] == info.resource and doc["authorization_servers"] == [info.issuer]
        assert doc["bearer_methods_supported"] == ["header"] and "offline_access" not in doc["scopes_supported"]


def test_host_header_protection(world):
    key_as, info, _ = world
    token = key_as.token(key_as.claims(info.resource))
    response = post(info, token, headers={"Host": "evil.example.com"})
    assert response.status_code == 421


def test_key_rotation_and_jwks_outage(world):
    """A new kid triggers one refetch; a JWKS outage keeps cached keys working."""
    key_as, info, app = world
    jwks_cache = app.state.validator.jwks
    jwks_cache.min_refetch_interval = 0  # the production rate limit is tested in unit tests
    key_as.add_key("k2", kind="ec")
    response = post(info, key_as.token(key_as.claims(info.resource), kid="k2"))
    assert response.status_code == 200, response.text
    key_as.down = True
    try:
        fresh = key_as.token(key_as.claims(info.resource, jti="after-outage"), kid="k2")
        assert post(info, fresh).status_code == 200
        compat = httpx.get(info.mcp_url.replace("/api/mcp", "/.well-known/openid-configuration"))
    finally:
        key_as.down = False
    assert compat.status_code in (200, 502)  # cached by the forwarder, or a clean 502


@pytest.mark.parametrize("kid", ["../../../../etc/passwd", "https://evil.example/jwks.json", "k1\x00", "' OR 1=1 --", "k" * 5000])
def test_kid_injection_is_just_an_unknown_kid(world, kid):
    key_as, info, _ = world
    stranger = KeyAS(issuer=key_as.issuer)
    stranger.add_key("k1")
    token = stranger.token(stranger.claims(info.resource), headers={"kid": kid})
    response = post(info, token)
    assert response.status_code == 401
    description = bearer(response).get("error_description")
    assert "kid" in description or "too large" in description
    assert "\x00" not in response.headers["www-authenticate"]


def test_duplicate_claims_are_refused_even_when_signed(world):
    key_as, info, _ = world
    payload = ('{"iss": "%s", "sub": "u", "aud": "https://other.example", "aud": "%s", "scope": "mcp:tools", "exp": %d}' % (key_as.issuer, info.resource, int(time.time()) + 600)).encode()  # noqa: UP031 (JSON braces make a format string unreadable)
    token = jwt.PyJWS().encode(payload, key_as.keys["k1"], algorithm="RS256", headers={"kid": "k1"})
    response = post(info, token)
    assert response.status_code == 401 and "repeats aud" in bearer(response).get("error_description")


def test_a_key_removed_by_rotation_stops_verifying(world):
    key_as, info, app = world
    jwks_cache = app.state.validator.jwks
    jwks_cache.min_refetch_interval = 0
    key_as.add_key("old")
    token = key_as.token(key_as.claims(info.resource, jti="rotation"), kid="old")
    assert post(info, token).status_code == 200
    del key_as.keys["old"]  # the AS rotates the key out
    jwks_cache.max_age = 0  # (production: 10 minutes) the next use refreshes in the background
    assert post(info, token).status_code == 200  # served from the keys in hand while the refresh runs
    deadline = time.monotonic() + 5
    while jwks_cache.has_kid("old") and time.monotonic() < deadline:
        time.sleep(0.05)
    jwks_cache.max_age = 600
    response = post(info, token)
    assert response.status_code == 401 and "kid 'old'" in bearer(response).get("error_description")


def test_cors_in_authkit_mode_covers_prm_forwarded_metadata_and_mcp_only(world):
    """Issue 14 item 1: CORS is an allow-list of paths, in AuthKit mode too."""
    _, info, _ = world
    base = info.mcp_url.replace("/api/mcp", "")
    origin = {"Origin": "http://localhost:6274"}
    for url in (info.prm_url, base + "/.well-known/oauth-protected-resource", base + "/.well-known/oauth-authorization-server"):
        assert httpx.get(url, headers=origin, timeout=10).headers.get("access-control-allow-origin") == "*", url
    pre = httpx.options(base + "/oauth2/authorize", headers={**origin, "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in pre.headers
    pre = httpx.options(info.mcp_url, headers={**origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "dpop"})
    assert pre.status_code == 200 and "dpop" in pre.headers["access-control-allow-headers"].lower()
