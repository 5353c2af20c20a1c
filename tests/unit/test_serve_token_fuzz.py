"""Issue 14 item 5: odd tokens, proofs and bodies never give a 5xx at serve's
MCP endpoint. Hypothesis throws JOSE headers (alg as a list or object,
non-string kid, deep nesting, huge numbers), claims (non-numeric exp/nbf/iat),
garbage base64, DPoP proofs and request bodies at the real app, in process
(httpx ASGITransport; serve is stateless so every answer is one JSON body):
a malformed token is 401 invalid_token, an unparseable body 400."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import httpx
import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authkit_mcp_cli.oauth.dpop import DpopKey, proof
from authkit_mcp_cli.server.app import build_app
from authkit_mcp_cli.server.config import resolve_serve_config

PORT = 8765
MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
INIT = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

json_scalars = st.none() | st.booleans() | st.integers() | st.integers(min_value=10**30, max_value=10**60) | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
# JOSE headers: the members a verifier reads, each of any JSON type (or a plausible value), or any JSON at all
jose_headers = (
    st.fixed_dictionaries(
        {},
        optional={
            "alg": st.sampled_from(["RS256", "ES256", "none", "HS256"]) | json_values,
            "kid": st.just("nope") | json_values,
            "typ": st.sampled_from(["at+jwt", "dpop+jwt", "JWT"]) | json_values,
            "crit": json_values,
            "jwk": json_values,
        },
    )
    | json_values
)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value) -> str:
    return b64(json.dumps(value).encode())


class Serve:
    """serve (development AS, stateless) with its lifespan running on a private loop."""

    def __init__(self) -> None:
        cfg = resolve_serve_config({}, host="127.0.0.1", port=PORT, path=None, base_url=None, authkit_domain=None, required_scopes=None, auto_approve=True, allowed_hosts=[], stateless=True, workers=1)
        self.app, self.info = build_app(cfg, PORT)
        self.local = self.app.state.local_as
        self.loop = asyncio.new_event_loop()
        self._ready, self._stop = asyncio.Event(), asyncio.Event()
        self._task = self.loop.create_task(self._hold())
        # bounded: a lifespan that fails must fail the fixture, not hang the suite
        ready = self.loop.create_task(self._ready.wait())
        self.loop.run_until_complete(asyncio.wait({self._task, ready}, timeout=30, return_when=asyncio.FIRST_COMPLETED))
        if not self._ready.is_set():
            ready.cancel()
            error = self._task.exception() if self._task.done() else TimeoutError("serve's lifespan did not start within 30 s")
            raise RuntimeError(f"serve did not start: {error!r}")
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), timeout=10)

    async def _hold(self) -> None:
        async with self.app.router.lifespan_context(self.app):  # entered and left in one task (anyio)
            self._ready.set()
            await self._stop.wait()

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self._stop.set()
        self.loop.run_until_complete(self._task)
        self.loop.close()

    def post(self, headers: list[tuple[str, str]], body: bytes | str = INIT) -> httpx.Response:
        return self.loop.run_until_complete(self.client.post(self.info.mcp_url, headers=[*MCP_HEADERS.items(), *headers], content=body))

    def token(self, claims: dict | None = None, headers: dict | None = None) -> str:
        now = int(time.time())
        base = {"iss": self.info.issuer, "aud": self.info.resource, "sub": "u", "client_id": "c", "scope": "mcp:tools", "iat": now, "exp": now + 600}
        payload = json.dumps({**base, **(claims or {})}).encode()  # by hand: pyjwt refuses to sign some odd claims
        return jwt.PyJWS().encode(payload, self.local._key, algorithm="RS256", headers={"kid": self.local.kid, "typ": "at+jwt", **(headers or {})})


@pytest.fixture(scope="module")
def serve():
    server = Serve()
    yield server
    server.close()


def refused(response: httpx.Response) -> None:
    assert response.status_code == 401, (response.status_code, response.text)
    assert 'error="invalid_token"' in response.headers.get("www-authenticate", "")
    assert "could not be read" not in response.text  # refused by a rule, not by the guard's last resort


def test_the_fixture_serves_a_good_token(serve):
    assert serve.post([("Authorization", f"Bearer {serve.token()}")]).status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        {"alg": ["RS256"], "typ": "at+jwt"},
        {"alg": {"RS256": 1}, "typ": "at+jwt"},
        {"alg": "RS256", "kid": 7, "typ": "at+jwt"},
        {"alg": "RS256", "kid": {"a": 1}, "typ": "at+jwt"},
        {"alg": "RS256", "kid": "x" * 5000, "typ": "at+jwt"},
        {"alg": 10**400, "typ": "at+jwt"},
    ],
)
def test_odd_headers_are_invalid_token(serve, header):
    token = f"{segment(header)}.{segment({'exp': 1})}.{b64(b'sig')}"
    refused(serve.post([("Authorization", f"Bearer {token}")]))


def test_deep_nesting_and_huge_numbers_are_invalid_token(serve):
    deep = b64(b'{"a":' * 50_000 + b"1" + b"}" * 50_000)
    huge = b64(b'{"alg":' + b"9" * 5000 + b"}")
    for token in (f"{deep}.{deep}.c2ln", f"{segment({'alg': 'RS256'})}.{deep}.c2ln", f"{huge}.e30.c2ln"):
        refused(serve.post([("Authorization", f"Bearer {token}")]))


@pytest.mark.parametrize("name", ["exp", "nbf", "iat"])
@pytest.mark.parametrize("value", ["9999999999", True, None, [1], {"n": 1}, 10**40])
def test_a_non_numeric_time_claim_is_refused(serve, name, value):
    token = serve.token({name: value})
    refused(serve.post([("Authorization", f"Bearer {token}")]))


def test_a_local_as_token_without_typ_at_jwt_is_refused(serve):
    """RFC 9068 §4: an ID token or another JWT the development AS signed is not an access token."""
    for typ in ("JWT", None, 1):
        token = serve.token(headers={"typ": typ})
        refused(serve.post([("Authorization", f"Bearer {token}")]))
    assert serve.post([("Authorization", f"Bearer {serve.token(headers={'typ': 'application/at+jwt'})}")]).status_code == 200


@FUZZ
@given(header=jose_headers, claims=json_values, signature=st.binary(max_size=64))
def test_fuzzed_tokens_are_never_5xx(serve, header, claims, signature):
    token = f"{segment(header)}.{segment(claims)}.{b64(signature)}"
    response = serve.post([("Authorization", f"Bearer {token}")])
    assert response.status_code in (400, 401), response.text
    assert "could not be read" not in response.text  # the verifier names the problem; the guard's last resort is not needed


@FUZZ
@given(claims=st.dictionaries(st.sampled_from(["exp", "nbf", "iat", "iss", "aud", "scope", "cnf", "sub", "client_id"]), json_values, max_size=5))
def test_fuzzed_claims_signed_by_the_as_are_never_5xx(serve, claims):
    response = serve.post([("Authorization", f"Bearer {serve.token(claims)}")])
    assert response.status_code in (200, 401, 403), response.text
    assert "could not be read" not in response.text


@FUZZ
@given(raw=st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=200), scheme=st.sampled_from(["Bearer", "DPoP", "bearer", "Basic", ""]))
def test_fuzzed_authorization_headers_are_never_5xx(serve, raw, scheme):
    response = serve.post([("Authorization", f"{scheme} {raw}".strip())])
    assert response.status_code in (400, 401), response.text


@FUZZ
@given(header=jose_headers, claims=json_values, signature=st.binary(max_size=80))
def test_fuzzed_dpop_proofs_are_never_5xx(serve, header, claims, signature):
    key = DpopKey.generate()
    token = serve.token({"cnf": {"jkt": key.thumbprint()}})
    fuzzed = f"{segment(header)}.{segment(claims)}.{b64(signature)}"
    response = serve.post([("Authorization", f"DPoP {token}"), ("DPoP", fuzzed)])
    assert response.status_code == 401 and 'error="invalid_dpop_proof"' in response.headers.get("www-authenticate", ""), response.text


def test_a_good_proof_passes_in_process(serve):
    key = DpopKey.generate()
    token = serve.token({"cnf": {"jkt": key.thumbprint()}})
    response = serve.post([("Authorization", f"DPoP {token}"), ("DPoP", proof(key, "POST", serve.info.mcp_url, access_token=token))])
    assert response.status_code == 200, response.text


@FUZZ
@given(body=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
def test_fuzzed_bodies_with_a_good_token_are_never_5xx(serve, body):
    response = serve.post([("Authorization", f"Bearer {serve.token()}")], body)
    assert response.status_code < 500, response.text


@pytest.mark.parametrize("body", [b"{", b"\xff\xfe", b"[" * 100_000, b'{"jsonrpc":' * 20_000, b'{"method":"tools/call","params":' * 10_000])
def test_unparseable_bodies_are_400(serve, body):
    response = serve.post([("Authorization", f"Bearer {serve.token()}")], body)
    assert response.status_code == 400, (response.status_code, response.text)
