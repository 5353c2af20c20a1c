"""DPoP proofs (RFC 9449 §4.2, §7.1), the nonce rules (§8, §9), token_type DPoP
(§5), the key kept with the tokens, and the token request's nonce retry on
canned answers."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from pathlib import Path

import httpx
import jwt
import pytest

from authkit_mcp_cli.client.context import Context
from authkit_mcp_cli.client.token_request import request_tokens
from authkit_mcp_cli.errors import ProtocolError, UsageError
from authkit_mcp_cli.http import HttpPolicy, HttpSession
from authkit_mcp_cli.oauth.dpop import DpopKey, ath, check_algs, htu, nonce_from, proof
from authkit_mcp_cli.oauth.message import HttpRequest
from authkit_mcp_cli.oauth.token import Tokens, parse_token_response


def _verify(token: str) -> tuple[dict, dict]:
    header = jwt.get_unverified_header(token)
    public = jwt.algorithms.ECAlgorithm.from_jwk(json.dumps(header["jwk"]))
    claims = jwt.decode(token, public, algorithms=["ES256"], options={"verify_aud": False})  # type: ignore[arg-type]
    return header, claims


def test_proof_claims_and_signature_verify_with_the_public_jwk():
    key = DpopKey.generate()
    token = proof(key, "post", "https://mcp.example/mcp?x=1#frag", access_token="at-123", nonce="n1", now=1_700_000_000, jti="j1")
    header, claims = _verify(token)
    assert header["typ"] == "dpop+jwt" and header["alg"] == "ES256"
    assert "d" not in header["jwk"] and header["jwk"] == key.public_jwk
    assert claims == {"jti": "j1", "htm": "POST", "htu": "https://mcp.example/mcp", "iat": 1_700_000_000, "ath": ath("at-123"), "nonce": "n1"}
    expected_ath = base64.urlsafe_b64encode(hashlib.sha256(b"at-123").digest()).rstrip(b"=").decode()
    assert claims["ath"] == expected_ath


def test_token_request_proof_has_no_ath_and_every_proof_is_fresh():
    key = DpopKey.generate()
    one, two = (_verify(proof(key, "POST", "https://as.example/token"))[1] for _ in range(2))
    assert "ath" not in one and "nonce" not in one
    assert one["jti"] != two["jti"]


def test_thumbprint_is_rfc7638_and_the_key_round_trips():
    # RFC 7638 §3.1 canonical member order for EC: crv, kty, x, y
    key = DpopKey.generate()
    pub = key.public_jwk
    canonical = f'{{"crv":"{pub["crv"]}","kty":"EC","x":"{pub["x"]}","y":"{pub["y"]}"}}'
    assert key.thumbprint() == base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()
    again = DpopKey.from_json(json.loads(json.dumps(key.to_json())))
    assert again == key
    _verify(proof(again, "GET", "https://x.example/"))
    with pytest.raises(UsageError) as bad:
        DpopKey.from_json({"kty": "RSA"})
    assert bad.value.code == "login.corrupt-record"


def test_htu_drops_query_and_fragment():
    assert htu("https://a.example:8443/p/q?x=y#z") == "https://a.example:8443/p/q"


def test_nonce_only_on_use_dpop_nonce_with_the_header():
    assert nonce_from(400, b'{"error":"use_dpop_nonce"}', "n") == "n"
    assert nonce_from(400, b'{"error":"use_dpop_nonce"}', None) is None
    assert nonce_from(400, b'{"error":"invalid_grant"}', "n") is None
    assert nonce_from(401, b"", "n", www_authenticate_error="use_dpop_nonce") == "n"
    assert nonce_from(401, b"", "n", www_authenticate_error="invalid_token") is None


def test_algs_es256_required_when_advertised():
    assert check_algs({"dpop_signing_alg_values_supported": ["ES256", "RS256"]}) is None
    assert "does not advertise" in (check_algs({}) or "")
    with pytest.raises(UsageError) as refused:
        check_algs({"dpop_signing_alg_values_supported": ["RS256"]})
    assert refused.value.code == "usage.dpop-alg-unsupported"


def test_token_type_dpop_only_when_a_proof_was_sent():
    body = b'{"access_token":"a","token_type":"DPoP","expires_in":60}'
    assert parse_token_response(200, body, dpop=True).token_type == "DPoP"
    with pytest.raises(ProtocolError) as refused:
        parse_token_response(200, body)
    assert refused.value.code == "oauth.invalid-token-response"


def test_the_key_is_stored_with_the_tokens():
    tokens = Tokens("a", "DPoP", None, dpop_key=DpopKey.generate().to_json(), grant_type="device_code")
    again = Tokens.from_json(json.loads(json.dumps(tokens.to_json())))
    assert again.dpop_key == tokens.dpop_key and again.grant_type == "device_code"


def _context(handler) -> Context:
    from authkit_mcp_cli.store import Store

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return Context(client=client, http=HttpSession(HttpPolicy(timeout=5, allow_insecure=True)), store=Store(Path("/nonexistent-unused")))


def test_token_request_retries_once_with_the_as_nonce():
    key = DpopKey.generate()
    seen: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        claims = _verify(request.headers["dpop"])[1]
        seen.append(claims)
        if claims.get("nonce") != "as-nonce":
            return httpx.Response(400, json={"error": "use_dpop_nonce"}, headers={"DPoP-Nonce": "as-nonce"})
        return httpx.Response(200, json={"access_token": "at", "token_type": "DPoP", "expires_in": 60})

    ctx = _context(handler)
    request = HttpRequest("POST", "http://127.0.0.1:9/token", {"Content-Type": "application/x-www-form-urlencoded"}, b"grant_type=x")
    tokens = asyncio.run(request_tokens(ctx, request, key, grant_type="authorization_code"))
    assert [c.get("nonce") for c in seen] == [None, "as-nonce"] and seen[0]["jti"] != seen[1]["jti"]
    assert all(c["htm"] == "POST" and c["htu"] == "http://127.0.0.1:9/token" for c in seen)
    assert tokens.token_type == "DPoP" and tokens.dpop_key == key.to_json() and tokens.grant_type == "authorization_code"


def test_token_request_gives_up_after_one_nonce_retry():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(400, json={"error": "use_dpop_nonce"}, headers={"DPoP-Nonce": f"n{len(calls)}"})

    request = HttpRequest("POST", "http://127.0.0.1:9/token", {}, b"")
    with pytest.raises(Exception) as refused:
        asyncio.run(request_tokens(_context(handler), request, DpopKey.generate(), grant_type="authorization_code"))
    assert len(calls) == 2 and getattr(refused.value, "error", None) == "use_dpop_nonce"


def test_a_bearer_answer_to_a_proof_is_not_bound():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"access_token": "at", "token_type": "Bearer"})

    tokens = asyncio.run(request_tokens(_context(handler), HttpRequest("POST", "http://127.0.0.1:9/token", {}, b""), DpopKey.generate(), grant_type="authorization_code"))
    assert tokens.token_type == "Bearer" and tokens.dpop_key is None


def test_mcp_requests_use_the_dpop_scheme_and_retry_once_with_the_rs_nonce():
    import httpx2

    from authkit_mcp_cli.mcp_wire import _BearerHook

    key = DpopKey.generate()
    seen: list[tuple[str, dict]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        claims = _verify(request.headers["dpop"])[1]
        seen.append((request.headers["authorization"], claims))
        if claims.get("nonce") != "rs-nonce":
            return httpx2.Response(401, headers={"WWW-Authenticate": 'DPoP error="use_dpop_nonce", algs="ES256"', "DPoP-Nonce": "rs-nonce"})
        return httpx2.Response(200, json={"ok": True})

    hook = _BearerHook("at-1", key)

    async def run() -> list[int]:
        async with httpx2.AsyncClient(transport=httpx2.MockTransport(handler), auth=hook) as client:
            first = await client.post("http://127.0.0.1:9/mcp?x=1", json={"a": 1})
            second = await client.post("http://127.0.0.1:9/mcp", json={"a": 2})
            return [first.status_code, second.status_code]

    assert asyncio.run(run()) == [200, 200]
    assert [c.get("nonce") for _, c in seen] == [None, "rs-nonce", "rs-nonce"]  # the nonce is kept for the next request
    assert all(auth == "DPoP at-1" and c["ath"] == ath("at-1") and c["htm"] == "POST" and c["htu"] == "http://127.0.0.1:9/mcp" for auth, c in seen)
    assert len({c["jti"] for _, c in seen}) == 3 and hook.challenge is None


def test_one_handle_per_key_keeps_each_servers_nonce_for_its_own_proofs():
    """oauth4webapi's DPoPHandle: the AS's nonce goes into token-request proofs only, the resource
    server's into MCP proofs only, and a nonce learnt once saves the next request its retry (RFC 9449 §8, §9)."""
    from authkit_mcp_cli.oauth.dpop import DpopHandle

    key = DpopKey.generate()
    handle = DpopHandle.for_key(key)
    assert DpopHandle.for_key(key) is handle and DpopHandle.for_key(DpopKey.generate()) is not handle
    body = b'{"error": "use_dpop_nonce"}'
    assert handle.retry_with_nonce("https://as.example/token", 400, body, "as-1") is True
    assert handle.retry_with_nonce("https://as.example/token", 400, body, "as-1") is False  # the same nonce again: no second retry
    assert handle.retry_with_nonce("https://mcp.example/mcp", 401, b"", "rs-1", www_authenticate_error="use_dpop_nonce") is True
    assert _verify(handle.proof("POST", "https://AS.example/token"))[1]["nonce"] == "as-1"
    assert _verify(handle.proof("POST", "https://mcp.example/other", access_token="at"))[1]["nonce"] == "rs-1"
    assert "nonce" not in _verify(handle.proof("POST", "https://third.example/token"))[1]
    assert handle.retry_with_nonce("https://as.example/token", 200, b"{}", "as-2") is False and _verify(handle.proof("POST", "https://as.example/token"))[1]["nonce"] == "as-2"
