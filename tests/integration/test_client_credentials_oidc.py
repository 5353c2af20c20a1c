"""The client credentials grant from the CLI against oidc-provider (a real,
independently written AS with pre-registered confidential clients) and
serve as the MCP server accepting its tokens: a secret (client_secret_basic)
and private_key_jwt (RFC 7523 §2.2), no browser, no loopback; the token is
stored and proved on the MCP server; a wrong secret ends with the AS's error."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from peers.oidc_as import PeerMissing, run_oidc_as
from peers.serve_app import serve_app

pytestmark = pytest.mark.integration

KEY = ec.generate_private_key(ec.SECP256R1())
PUBLIC_JWK = {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(KEY.public_key())), "kid": "svc-key-1", "use": "sig", "alg": "ES256"}
CLIENTS = [
    {"client_id": "svc-secret", "client_secret": "svc-secret-value-0123456789", "token_endpoint_auth_method": "client_secret_basic", "grant_types": ["client_credentials"], "response_types": [], "redirect_uris": []},
    {"client_id": "svc-jwt", "token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [PUBLIC_JWK]}, "grant_types": ["client_credentials"], "response_types": [], "redirect_uris": []},
]


@pytest.fixture(scope="module")
def cc_issuer():
    try:
        with run_oidc_as(env={"CLIENTS": json.dumps(CLIENTS)}) as issuer:
            yield issuer
    except PeerMissing as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def mcp_url(cc_issuer):
    with serve_app(authkit_domain=cc_issuer, required_scopes="mcp:tools", auto_approve=False) as (info, _app):
        yield info.mcp_url


@pytest.fixture
def cli(tmp_path):
    env = {**os.environ, "ATOMS_AUTH_HOME": str(tmp_path / "home"), "BROWSER": "/bin/false", "NO_COLOR": "1", "COLUMNS": "200"}

    def run(*args: str) -> subprocess.CompletedProcess:
        proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", *args], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc

    return run


def stored(tmp_path) -> dict:
    (path,) = list((tmp_path / "home" / "tokens").glob("*.json"))
    return json.loads(path.read_text())


def test_client_secret_basic(cc_issuer, mcp_url, cli, tmp_path):
    proc = cli("login", "--server", mcp_url, "--grant", "client-credentials", "--authkit-domain", cc_issuer, "--client-id", "svc-secret", "--client-secret", "svc-secret-value-0123456789", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["logged_in"] and out["verified"] and out["claims"]["aud"] == mcp_url and out["claims"]["iss"] == cc_issuer
    assert "client_secret_basic" in proc.stderr and "client_credentials at" in proc.stderr and "browser" not in proc.stderr
    record = stored(tmp_path)
    assert record["client"]["client_id"] == "svc-secret" and record["tokens"]["refresh_token"] is None
    listed = cli("call", "--server", mcp_url, "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout)["tools"]


def test_client_credentials_with_dpop_binds_the_token(cc_issuer, mcp_url, cli, tmp_path):
    """--dpop applies to every grant: oidc-provider answers token_type DPoP with cnf.jkt = the stored key's thumbprint."""
    proc = cli("login", "--server", mcp_url, "--grant", "client-credentials", "--authkit-domain", cc_issuer, "--client-id", "svc-secret", "--client-secret", "svc-secret-value-0123456789", "--dpop", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    tokens = stored(tmp_path)["tokens"]
    assert tokens["token_type"] == "DPoP" and tokens["grant_type"] == "client_credentials"
    assert out["dpop_bound"] is True and out["grant_type"] == "client_credentials" and out["problems"] == []  # cnf.jkt matches the key
    assert out["verified"] is True  # serve accepted the token with its proof


def test_private_key_jwt(cc_issuer, mcp_url, cli, tmp_path):
    pem = tmp_path / "svc.pem"
    pem.write_bytes(KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    proc = cli("login", "--server", mcp_url, "--grant", "client-credentials", "--authkit-domain", cc_issuer, "--client-id", "svc-jwt", "--private-key", str(pem), "--key-id", "svc-key-1", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["verified"] and out["claims"]["aud"] == mcp_url
    assert "private_key_jwt: ES256, kid svc-key-1" in proc.stderr
    assert stored(tmp_path)["client"]["token_endpoint_auth_method"] == "private_key_jwt"


def test_a_wrong_secret_ends_with_the_as_error(cc_issuer, mcp_url, cli):
    proc = cli("login", "--server", mcp_url, "--grant", "client-credentials", "--authkit-domain", cc_issuer, "--client-id", "svc-secret", "--client-secret", "wrong", "--json")
    assert proc.returncode == 1
    error = json.loads(proc.stdout)["error"]
    assert error["code"] == "oauth.remote-error" and error["remote"]["error"] == "invalid_client" and error["remote"]["status"] == 401


def test_a_key_the_as_does_not_know_is_refused(cc_issuer, mcp_url, cli, tmp_path):
    other = tmp_path / "other.pem"
    other.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    proc = cli("login", "--server", mcp_url, "--grant", "client-credentials", "--authkit-domain", cc_issuer, "--client-id", "svc-jwt", "--private-key", str(other), "--json")
    assert proc.returncode == 1
    error = json.loads(proc.stdout)["error"]
    assert error["remote"]["error"] == "invalid_client" and "JWKS" in (error["hint"] or "")


def test_missing_credentials_are_a_usage_error(cc_issuer, mcp_url, cli):
    proc = cli("login", "--server", mcp_url, "--grant", "client-credentials", "--authkit-domain", cc_issuer, "--client-id", "svc-secret")
    assert proc.returncode == 2 and "--client-secret" in proc.stderr


# --- workload identity federation: the JWT bearer grant (RFC 7523 §2.1) -----------------------

CI_ISSUER = "https://ci.example.test"
CI_KEY = ec.generate_private_key(ec.SECP256R1())
CI_JWKS = {"keys": [{**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(CI_KEY.public_key())), "kid": "ci-1", "alg": "ES256", "use": "sig"}]}
WORKLOAD = {"client_id": "workload", "token_endpoint_auth_method": "none", "grant_types": ["urn:ietf:params:oauth:grant-type:jwt-bearer"], "response_types": [], "redirect_uris": []}


@pytest.fixture(scope="module")
def wif(tmp_path_factory):
    """(issuer, MCP URL): oidc-provider trusting the CI issuer's key, and serve accepting its tokens."""
    env = {"CLIENTS": json.dumps([WORKLOAD]), "JWT_BEARER_ISSUER": CI_ISSUER, "JWT_BEARER_JWKS": json.dumps(CI_JWKS)}
    try:
        with run_oidc_as(env=env) as issuer, serve_app(authkit_domain=issuer, required_scopes="mcp:tools", auto_approve=False) as (info, _app):
            yield issuer, info.mcp_url
    except PeerMissing as exc:
        pytest.fail(str(exc))


def ci_token(aud: str, exp_in: int = 300) -> str:
    import time

    now = int(time.time())
    return jwt.encode({"iss": CI_ISSUER, "sub": "repo:acme/app:ref:refs/heads/main", "aud": aud, "iat": now, "exp": now + exp_in}, CI_KEY, algorithm="ES256", headers={"kid": "ci-1"})


def run_with_stdin(tmp_path, *args: str, stdin: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ATOMS_AUTH_HOME": str(tmp_path / "home"), "BROWSER": "/bin/false", "NO_COLOR": "1", "COLUMNS": "200"}
    proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", *args], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path, input=stdin)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_jwt_bearer_trades_a_ci_token_read_from_stdin(wif, tmp_path):
    issuer, url = wif
    proc = run_with_stdin(tmp_path, "login", "--server", url, "--grant", "jwt-bearer", "--authkit-domain", issuer, "--client-id", "workload", "--assertion", "-", "--json", stdin=ci_token(issuer))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["verified"] and out["claims"]["aud"] == url and out["claims"]["iss"] == issuer
    assert "sub 'repo:acme/app:ref:refs/heads/main'" in proc.stderr and "browser" not in proc.stderr


@pytest.mark.parametrize(("aud", "exp_in"), [("https://wrong.example", 300), (None, -120)], ids=["wrong-audience", "expired"])
def test_a_refused_assertion_ends_with_the_as_invalid_grant(wif, tmp_path, aud, exp_in):
    issuer, url = wif
    assertion = tmp_path / "ci.jwt"
    assertion.write_text(ci_token(aud or issuer, exp_in))
    proc = run_with_stdin(tmp_path, "login", "--server", url, "--grant", "jwt-bearer", "--authkit-domain", issuer, "--client-id", "workload", "--assertion", str(assertion), "--json", stdin="")
    error = json.loads(proc.stdout)["error"]
    if aud:  # an assertion for another AS is never sent (RFC 7523 §3 item 3; issue #20)
        assert proc.returncode == 2 and error["code"] == "login.assertion-audience" and aud in error["message"]
        assert "jwt-bearer at" not in proc.stderr
        return
    assert proc.returncode == 1, proc.stderr
    assert error["code"] == "oauth.remote-error" and error["remote"]["error"] == "invalid_grant" and error["remote"]["status"] == 400
    assert proc.stderr.count("jwt-bearer at") == 1  # reported once, not retried
    assert ("does not name the AS" if aud else "has expired") in proc.stderr  # said before the AS refuses
