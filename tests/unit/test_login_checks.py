"""doctor --login's checks on canned evidence: a real token's claims, header and
the AS's JWKS, each judged as a resource server would (pure, no network)."""

from __future__ import annotations

import json
import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from world import assert_level_matches, target

from authkit_mcp_cli.checks.catalogue import CATALOGUE
from authkit_mcp_cli.checks.evidence import Evidence, TokenEvidence
from authkit_mcp_cli.checks.model import Status, run_check
from authkit_mcp_cli.client.session import Session
from authkit_mcp_cli.http import Exchange
from authkit_mcp_cli.oauth.client_auth import ClientRegistration
from authkit_mcp_cli.oauth.token import Tokens
from authkit_mcp_cli.redact import decode_jwt_unverified

ISSUER = "https://login.example.com"
AUTHKIT = "https://test-env.authkit.app"
RESOURCE = "https://mcp.example.com/api/mcp"
JWKS_URI = ISSUER + "/jwks"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
JWK = {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key())), "kid": "k1", "use": "sig", "alg": "RS256"}


def claims(**changes):
    now = int(time.time())
    base = {"iss": ISSUER, "aud": RESOURCE, "sub": "u", "scope": "mcp:tools", "iat": now, "exp": now + 600}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def evidence(token: str, *, issuer: str = ISSUER, jwks: dict | None = None, jwks_uri: str | None = JWKS_URI, source: str = "new login") -> Evidence:
    session = Session(RESOURCE, RESOURCE, issuer, {"issuer": issuer, "token_endpoint": issuer + "/token"}, ClientRegistration("c1"), Tokens(token, "Bearer", time.time() + 600, "rt", scope="mcp:tools"))
    te = TokenEvidence(server_url=RESOURCE, source=source, session=session, jwks_uri=jwks_uri)
    decoded = decode_jwt_unverified(token)
    te.header, te.claims = (decoded["header"], decoded["claims"]) if decoded else (None, None)
    if jwks_uri is not None:
        body = json.dumps(jwks if jwks is not None else {"keys": [JWK]}).encode()
        te.jwks = Exchange("GET", jwks_uri, status=200, headers=httpx.Headers({"content-type": "application/json"}), body=body)
    ev = Evidence(target=target(RESOURCE))
    ev.prm_doc = {"resource": RESOURCE, "authorization_servers": [issuer], "scopes_supported": ["mcp:tools"]}
    ev.token = te
    return ev


def run(check_id: str, ev: Evidence):
    result = run_check(next(c for c in CATALOGUE if c.id == check_id), ev)
    assert_level_matches(result)
    return result


def signed(headers: dict | None = None, key=KEY, **changes) -> str:
    return jwt.encode(claims(**changes), key, algorithm="RS256", headers={"kid": "k1", **(headers or {})})


def test_a_right_token_passes_every_token_check():
    ev = evidence(signed())
    for cid in ("token.obtained", "token.audience", "token.issuer", "token.signature", "token.lifetime", "token.scopes"):
        r = run(cid, ev)
        assert r.status is Status.PASS, (cid, r.message)


def test_signature_alg_is_pinned_to_the_key():
    token = jwt.encode(claims(), KEY, algorithm="PS256", headers={"kid": "k1"})  # the right key, another algorithm
    r = run("token.signature", evidence(token))
    assert r.status is Status.FAIL and "alg 'PS256' is not what key 'k1' (RSA) is for (RS256)" in r.message


def test_signature_without_alg_on_the_key_follows_its_type():
    token = jwt.encode(claims(), KEY, algorithm="PS256", headers={"kid": "k1"})
    r = run("token.signature", evidence(token, jwks={"keys": [{k: v for k, v in JWK.items() if k != "alg"}]}))
    assert r.status is Status.PASS  # an RSA key without alg verifies the RSA family


def test_signature_with_an_unknown_kid_or_a_stranger_key():
    r = run("token.signature", evidence(signed(headers={"kid": "k9"})))
    assert r.status is Status.FAIL and "no key in the JWKS has kid 'k9'" in r.message
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    r = run("token.signature", evidence(signed(key=stranger)))
    assert r.status is Status.FAIL and "does not verify" in r.message


def test_signature_without_jwks_uri():
    r = run("token.signature", evidence(signed(), jwks_uri=None))
    assert r.status is Status.FAIL and "no jwks_uri" in r.message


def test_audience_a_list_naming_the_resource_passes_and_a_slash_is_named():
    assert run("token.audience", evidence(signed(aud=["https://other.example", RESOURCE]))).status is Status.PASS
    r = run("token.audience", evidence(signed(aud=RESOURCE + "/")))
    assert r.status is Status.FAIL and "only by a trailing slash" in r.message
    assert "WorkOS" not in r.fix and "honour the resource parameter" in r.fix  # not AuthKit: generic


def test_audience_fix_for_authkit_is_the_exact_resource_indicator():
    r = run("token.audience", evidence(signed(aud="client_123", iss=AUTHKIT), issuer=AUTHKIT))
    assert r.status is Status.FAIL and f"add the MCP Resource Indicator {RESOURCE} (this exact string" in r.fix


def test_lifetime_expired_missing_and_skewed():
    now = int(time.time())
    r = run("token.lifetime", evidence(signed(exp=now - 10, iat=now - 610)))
    assert r.status is Status.WARN and "expired" in r.message
    r = run("token.lifetime", evidence(signed(exp=None)))
    assert r.status is Status.WARN and "no exp claim" in r.message
    r = run("token.lifetime", evidence(signed(iat=now + 300, exp=now + 900)))
    assert r.status is Status.WARN and "clock is" in r.message and r.evidence["clock_skew_s"] >= 290
    assert run("token.lifetime", evidence(signed(iat=now + 300, exp=now + 900), source="stored login")).status is Status.PASS  # skew only from a fresh token


def test_scopes_from_scp_and_missing():
    assert run("token.scopes", evidence(signed(scope=None, scp=["mcp:tools", "x"]))).status is Status.PASS
    r = run("token.scopes", evidence(signed(scope="openid")))
    assert r.status is Status.WARN and "without mcp:tools" in r.message


def test_opaque_tokens_skip_the_jwt_checks_with_the_reason():
    ev = evidence("opaque-token-value")
    for cid in ("token.audience", "token.issuer", "token.signature"):
        r = run(cid, ev)
        assert r.status is Status.SKIP and "opaque" in r.message
    assert run("token.lifetime", ev).status is Status.PASS  # from expires_in


def test_without_login_every_login_check_says_how():
    ev = Evidence(target=target(RESOURCE))
    for c in CATALOGUE:
        if c.area == "token" or c.id in ("server.accepts-token", "server.rejects-other-resource-token"):
            r = run(c.id, ev)
            assert r.status is Status.SKIP and "doctor --login" in r.message, c.id


@pytest.mark.parametrize("status", [200, 403])
def test_an_accepted_token_for_another_resource_is_critical(status):
    ev = evidence(signed())
    assert ev.token is not None
    other = "https://mcp.example.com/atoms-auth-doctor/another-resource"
    ev.token.other = {"resource": other, "claims": claims(aud=other), "answer": Exchange("POST", RESOURCE, status=status), "own_answer": Exchange("POST", RESOURCE, status=200)}
    r = run("server.rejects-other-resource-token", ev)
    assert r.status is Status.FAIL and r.message.startswith("CRITICAL")
    ev.token.other["answer"] = Exchange("POST", RESOURCE, status=401)
    assert run("server.rejects-other-resource-token", ev).status is Status.PASS


LOGIN_TABLE = ("token.obtained", "token.audience", "token.issuer", "token.signature", "token.lifetime", "token.scopes", "server.accepts-token", "server.rejects-other-resource-token", "token.refresh")


def test_the_issue_table_is_in_the_catalogue_completions_and_list_checks():
    from typer.testing import CliRunner

    from authkit_mcp_cli.cli import app
    from authkit_mcp_cli.commands.doctor import _complete_check_id

    ids = [c.id for c in CATALOGUE]
    assert [i for i in ids if i in LOGIN_TABLE] == list(LOGIN_TABLE)  # in the table's order
    completed = set(_complete_check_id("token.")) | set(_complete_check_id("server.")) | set(_complete_check_id(""))
    assert set(LOGIN_TABLE) <= completed
    listed = CliRunner().invoke(app, ["doctor", "--list-checks", "--json"])
    assert listed.exit_code == 0, listed.output
    levels = {c["id"]: c["level"] for c in json.loads(listed.output)["checks"]}
    assert {i: levels[i] for i in LOGIN_TABLE} == {
        "token.obtained": "MUST", "token.audience": "MUST", "token.issuer": "MUST", "token.signature": "MUST", "token.lifetime": "SHOULD",
        "token.scopes": "SHOULD", "server.accepts-token": "MUST", "server.rejects-other-resource-token": "MUST", "token.refresh": "SHOULD",
    }
