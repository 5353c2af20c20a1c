"""serve's DPoP checks at the resource server (RFC 9449 §4.3, §7, §9), over
real HTTP: a forged-proof matrix against serve in any-AS mode behind an AS
whose keys the test holds (it mints tokens bound with cnf.jkt), a nonce-
requiring serve, and the real client (`atoms-auth login --dpop`, then `call`)
against oidc-provider, which issues DPoP-bound tokens itself."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from urllib.parse import urlsplit

import httpx
import jwt
import pytest

from authkit_mcp_cli.challenge import parse_www_authenticate
from authkit_mcp_cli.oauth.dpop import DpopKey, proof
from authkit_mcp_cli.server.dpop_proof import NONCE_ENV
from peers.asgi import serve_asgi
from peers.key_as import KeyAS
from peers.oidc_as import PeerMissing, run_oidc_as
from peers.serve_app import serve_app

pytestmark = pytest.mark.integration

MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
INIT = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(obj: dict) -> str:
    return b64(json.dumps(obj, separators=(",", ":")).encode())


@pytest.fixture(scope="module")
def key_as():
    key_as = KeyAS()
    key_as.add_key("k1")
    with serve_asgi(key_as.app):
        yield key_as


@pytest.fixture(scope="module")
def world(key_as):
    with serve_app(authkit_domain=key_as.issuer, required_scopes="mcp:tools", auto_approve=False) as (info, _app):
        yield key_as, info


@pytest.fixture(scope="module")
def nonce_world(key_as):
    os.environ[NONCE_ENV] = "1"  # read when serve builds its guard
    try:
        with serve_app(authkit_domain=key_as.issuer, required_scopes="mcp:tools", auto_approve=False) as (info, _app):
            os.environ.pop(NONCE_ENV, None)
            yield key_as, info
    finally:
        os.environ.pop(NONCE_ENV, None)


def bound_token(key_as: KeyAS, info, key: DpopKey) -> str:
    return key_as.token(key_as.claims(info.resource, cnf={"jkt": key.thumbprint()}))


def send(info, auth: str | None, proofs: list[str] | None = None, *, method: str = "POST", url: str | None = None) -> httpx.Response:
    headers = list(MCP_HEADERS.items())
    if auth is not None:
        headers.append(("Authorization", auth))
    headers.extend(("DPoP", p) for p in proofs or [])
    return httpx.request(method, url or info.mcp_url, headers=headers, content=INIT if method == "POST" else None, timeout=10)


def challenges(response: httpx.Response) -> dict[str, dict]:
    return {ch.scheme.lower(): ch for ch in parse_www_authenticate(response.headers.get_list("www-authenticate"))}


def refused_proof(response: httpx.Response, words: str) -> None:
    assert response.status_code == 401, response.text
    found = challenges(response)
    dpop = found["dpop"]
    assert dpop.get("error") == "invalid_dpop_proof", response.headers.get_list("www-authenticate")
    assert words in (dpop.get("error_description") or ""), dpop.get("error_description")
    assert "ES256" in (dpop.get("algs") or "").split()
    assert found["bearer"].get("resource_metadata"), "the Bearer challenge names the PRM too"
    assert found["bearer"].get("error") is None


def test_a_bound_token_with_a_fresh_proof_is_served(world):
    key_as, info = world
    key = DpopKey.generate()
    token = bound_token(key_as, info, key)
    response = send(info, f"DPoP {token}", [proof(key, "POST", info.mcp_url, access_token=token)])
    assert response.status_code == 200, response.text
    # the scheme is case-insensitive (RFC 9110 §11.1); htu is compared normalised, query ignored (RFC 9449 §4.3)
    shouted = info.mcp_url.replace("http://127.0.0.1", "HTTP://LOCALHOST") + "?x=1"
    response = send(info, f"dpop {token}", [proof(key, "POST", shouted, access_token=token)])
    assert response.status_code == 200, response.text


def test_without_a_proof(world):
    key_as, info = world
    key = DpopKey.generate()
    refused_proof(send(info, f"DPoP {bound_token(key_as, info, key)}"), "no DPoP header")


def test_two_proofs(world):
    key_as, info = world
    key = DpopKey.generate()
    token = bound_token(key_as, info, key)
    refused_proof(send(info, f"DPoP {token}", [proof(key, "POST", info.mcp_url, access_token=token) for _ in range(2)]), "more than one")


def test_a_proof_for_another_url(world):
    key_as, info = world
    key = DpopKey.generate()
    token = bound_token(key_as, info, key)
    for url in (info.mcp_url + "/other", info.mcp_url.replace("http://", "https://"), "http://evil.example" + urlsplit(info.mcp_url).path):
        refused_proof(send(info, f"DPoP {token}", [proof(key, "POST", url, access_token=token)]), "not this resource")


def test_a_proof_for_another_method(world):
    key_as, info = world
    key = DpopKey.generate()
    token = bound_token(key_as, info, key)
    refused_proof(send(info, f"DPoP {token}", [proof(key, "GET", info.mcp_url, access_token=token)]), "this request is POST")


def test_a_replayed_proof(world):
    key_as, info = world
    key = DpopKey.generate()
    token = bound_token(key_as, info, key)
    once = proof(key, "POST", info.mcp_url, access_token=token)
    assert send(info, f"DPoP {token}", [once]).status_code == 200
    refused_proof(send(info, f"DPoP {token}", [once]), "already used")
    # the same jti in a new proof is a replay too (RFC 9449 §11.1)
    refused_proof(send(info, f"DPoP {token}", [proof(key, "POST", info.mcp_url, access_token=token, jti=jwt.decode(once, options={"verify_signature": False})["jti"])]), "already used")


def test_stale_and_future_iat(world):
    key_as, info = world
    key = DpopKey.generate()
    token = bound_token(key_as, info, key)
    refused_proof(send(info, f"DPoP {token}", [proof(key, "POST", info.mcp_url, access_token=token, now=time.time() - 300)]), "s ago")
    refused_proof(send(info, f"DPoP {token}", [proof(key, "POST", info.mcp_url, access_token=token, now=time.time() + 300)]), "in the future")


def test_a_proof_by_another_key(world):
    key_as, info = world
    key, thief = DpopKey.generate(), DpopKey.generate()
    token = bound_token(key_as, info, key)
    refused_proof(send(info, f"DPoP {token}", [proof(thief, "POST", info.mcp_url, access_token=token)]), "thumbprint differs from cnf.jkt")


def test_a_bad_signature(world):
    key_as, info = world
    key = DpopKey.generate()
    token = bound_token(key_as, info, key)
    head, body, sig = proof(key, "POST", info.mcp_url, access_token=token).split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["htm"] = "POST"
    claims["jti"] = "changed"
    refused_proof(send(info, f"DPoP {token}", [f"{head}.{segment(claims)}.{sig}"]), "signature does not verify")
    flipped = sig[:-2] + ("AA" if sig[-2:] != "AA" else "BB")
    refused_proof(send(info, f"DPoP {token}", [f"{head}.{body}.{flipped}"]), "signature")


def _claims(key: DpopKey, info, token: str) -> dict:
    return {"jti": os.urandom(8).hex(), "htm": "POST", "htu": info.mcp_url, "iat": int(time.time()), "ath": b64(hashlib.sha256(token.encode()).digest())}


def test_alg_none_and_hs256(world):
    key_as, info = world
    key = DpopKey.generate()
    token = bound_token(key_as, info, key)
    none = f"{segment({'typ': 'dpop+jwt', 'alg': 'none', 'jwk': key.public_jwk})}.{segment(_claims(key, info, token))}."
    refused_proof(send(info, f"DPoP {token}", [none]), "not a signed JWT")
    none_sig = none + "x"
    refused_proof(send(info, f"DPoP {token}", [none_sig]), "'none' is not accepted")
    signing_input = f"{segment({'typ': 'dpop+jwt', 'alg': 'HS256', 'jwk': key.public_jwk})}.{segment(_claims(key, info, token))}"
    mac = hmac.new(json.dumps(key.public_jwk).encode(), signing_input.encode(), hashlib.sha256).digest()
    refused_proof(send(info, f"DPoP {token}", [f"{signing_input}.{b64(mac)}"]), "'HS256' is not accepted")


def test_missing_or_wrong_ath(world):
    key_as, info = world
    key = DpopKey.generate()
    token = bound_token(key_as, info, key)
    refused_proof(send(info, f"DPoP {token}", [proof(key, "POST", info.mcp_url)]), "no ath claim")
    other = key_as.token(key_as.claims(info.resource, cnf={"jkt": key.thumbprint()}, jti="another"))
    refused_proof(send(info, f"DPoP {token}", [proof(key, "POST", info.mcp_url, access_token=other)]), "ath is not the hash")


def test_a_proof_that_is_not_a_dpop_jwt_or_leaks_the_private_key(world):
    key_as, info = world
    key = DpopKey.generate()
    token = bound_token(key_as, info, key)
    typ_jwt = jwt.encode(_claims(key, info, token), key.private_key(), algorithm="ES256", headers={"typ": "JWT", "jwk": key.public_jwk})
    refused_proof(send(info, f"DPoP {token}", [typ_jwt]), "not dpop+jwt")
    leaked = jwt.encode(_claims(key, info, token), key.private_key(), algorithm="ES256", headers={"typ": "dpop+jwt", "jwk": key.private_jwk})
    refused_proof(send(info, f"DPoP {token}", [leaked]), "private key material")
    refused_proof(send(info, f"DPoP {token}", ["not-a-jwt"]), "compact form")


def test_a_bound_token_as_bearer_is_refused(world):
    key_as, info = world
    key = DpopKey.generate()
    token = bound_token(key_as, info, key)
    response = send(info, f"Bearer {token}", [proof(key, "POST", info.mcp_url, access_token=token)])
    assert response.status_code == 401
    bearer = challenges(response)["bearer"]
    assert bearer.get("error") == "invalid_token" and "bound to a DPoP key" in bearer.get("error_description")


def test_an_unbound_token_as_dpop_is_refused(world):
    key_as, info = world
    key = DpopKey.generate()
    token = key_as.token(key_as.claims(info.resource))
    response = send(info, f"DPoP {token}", [proof(key, "POST", info.mcp_url, access_token=token)])
    assert response.status_code == 401
    found = challenges(response)
    assert found["dpop"].get("error") == "invalid_token" and "not DPoP-bound" in found["dpop"].get("error_description")
    assert send(info, f"Bearer {token}").status_code == 200  # the same token as Bearer is fine


def test_a_token_bound_by_another_method_is_refused(world):
    key_as, info = world
    token = key_as.token(key_as.claims(info.resource, cnf={"x5t#S256": "abc"}))
    response = send(info, f"Bearer {token}")
    assert response.status_code == 401 and "cannot check" in challenges(response)["bearer"].get("error_description")


def test_the_bare_challenge_and_prm_name_dpop(world):
    _, info = world
    response = send(info, None)
    assert response.status_code == 401
    found = challenges(response)
    assert found["bearer"].get("error") is None and "ES256" in found["dpop"].get("algs")
    prm = httpx.get(info.prm_url, timeout=10).json()
    assert "ES256" in prm["dpop_signing_alg_values_supported"]  # RFC 9728 §2


def test_nonce_required(nonce_world):
    key_as, info = nonce_world
    key = DpopKey.generate()
    token = bound_token(key_as, info, key)
    first = send(info, f"DPoP {token}", [proof(key, "POST", info.mcp_url, access_token=token)])
    assert first.status_code == 401
    (dpop,) = parse_www_authenticate(first.headers.get_list("www-authenticate"))  # alone, so a client reads its error (§9)
    assert dpop.scheme == "DPoP" and dpop.get("error") == "use_dpop_nonce"
    nonce = first.headers["dpop-nonce"]
    bad = send(info, f"DPoP {token}", [proof(key, "POST", info.mcp_url, access_token=token, nonce="made-up")])
    assert bad.status_code == 401 and challenges(bad)["dpop"].get("error") == "use_dpop_nonce"
    ok = send(info, f"DPoP {token}", [proof(key, "POST", info.mcp_url, access_token=token, nonce=nonce)])
    assert ok.status_code == 200, ok.text


# --- the real client against oidc-provider (which binds tokens to the proof's key) ---------------


@pytest.fixture(scope="module")
def oidc_issuer():
    try:
        with run_oidc_as(env={"RESOURCE_SCOPES": "mcp:tools"}) as found:
            yield found
    except PeerMissing as exc:
        pytest.fail(str(exc))


@pytest.mark.parametrize("nonce", [False, True], ids=["plain", "nonce"])
def test_the_real_client_logs_in_with_dpop_and_calls(oidc_issuer, tmp_path, nonce):
    if nonce:
        os.environ[NONCE_ENV] = "1"
    try:
        with serve_app(authkit_domain=oidc_issuer, required_scopes="mcp:tools", auto_approve=False) as (info, _app):
            os.environ.pop(NONCE_ENV, None)
            env = {
                **os.environ,
                "ATOMS_AUTH_HOME": str(tmp_path / "home"),
                "BROWSER": os.path.join(os.path.dirname(__file__), "..", "conformance", "browser"),
                "NO_COLOR": "1",
                "COLUMNS": "300",
            }

            def cli(*args: str) -> subprocess.CompletedProcess:
                done = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", *args], capture_output=True, text=True, timeout=120, env=env)
                assert "Traceback" not in done.stderr, done.stderr
                return done

            login = cli("login", "--server", info.mcp_url, "--dpop", "--scope", "mcp:tools", "--json")  # verified at serve: no --no-verify
            assert login.returncode == 0, login.stderr
            out = json.loads(login.stdout)
            assert out["dpop_bound"] is True and out["verified"] is True
            called = cli("call", "--server", info.mcp_url, "--tool", "whoami", "--json")
            assert called.returncode == 0, called.stderr
            assert json.loads(called.stdout)["structuredContent"]["aud"] == info.resource
    finally:
        os.environ.pop(NONCE_ENV, None)


def test_the_real_client_with_dpop_at_serves_own_as(tmp_path):
    """The development AS binds the token to the proof's key (cnf.jkt); serve then wants the proof."""
    with serve_app() as (info, _app):
        env = {**os.environ, "ATOMS_AUTH_HOME": str(tmp_path / "home"), "BROWSER": os.path.join(os.path.dirname(__file__), "..", "conformance", "browser"), "NO_COLOR": "1"}
        login = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "login", "--server", info.mcp_url, "--dpop", "--json"], capture_output=True, text=True, timeout=120, env=env)
        assert login.returncode == 0, login.stderr
        out = json.loads(login.stdout)
        assert out["dpop_bound"] is True and out["verified"] is True
        (record,) = (tmp_path / "home" / "tokens").glob("*.json")
        token = json.loads(record.read_text())["tokens"]["access_token"]
        assert send(info, f"Bearer {token}").status_code == 401  # bound: the Bearer scheme is refused (RFC 9449 §7.2)
        called = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "call", "--server", info.mcp_url, "--tool", "whoami", "--json"], capture_output=True, text=True, timeout=120, env=env)
        assert called.returncode == 0, called.stderr
