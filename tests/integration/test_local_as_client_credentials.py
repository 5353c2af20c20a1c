"""The client credentials grant (RFC 6749 §4.4) against serve's own development
AS, offline: a confidential client registered by DCR (RFC 7591) for that grant,
`atoms-auth login --grant client-credentials` as a subprocess, the token for
the client itself proved on serve's MCP endpoint; a wrong secret ends with the
AS's invalid_client."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest

from peers.serve_app import serve_app

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def served():
    with serve_app() as (info, app):
        yield info, app


@pytest.fixture
def cli(tmp_path):
    env = {**os.environ, "ATOMS_AUTH_HOME": str(tmp_path / "home"), "BROWSER": "/bin/false", "NO_COLOR": "1", "COLUMNS": "200"}

    def run(*args: str) -> subprocess.CompletedProcess:
        proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", *args], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc

    return run


def register(served, **body) -> dict:
    info, app = served
    registration = app.state.local_as.metadata()["registration_endpoint"]
    response = httpx.post(registration, json={"client_name": "ci job", "grant_types": ["client_credentials"], **body}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def test_login_with_client_credentials_and_call(served, cli):
    info, _app = served
    assert "client_credentials" in httpx.get(info.issuer + "/.well-known/oauth-authorization-server", timeout=10).json()["grant_types_supported"]
    client = register(served)  # client_secret_basic, RFC 7591's default; the CLI uses basic when the AS lists it
    assert client["token_endpoint_auth_method"] == "client_secret_basic" and client["redirect_uris"] == []
    proc = cli("login", "--server", info.mcp_url, "--grant", "client-credentials", "--authkit-domain", info.issuer, "--client-id", client["client_id"], "--client-secret", client["client_secret"], "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["logged_in"] and out["verified"] and out["claims"]["aud"] == info.resource == info.mcp_url
    assert out["claims"]["sub"] == out["claims"]["client_id"] == client["client_id"] and out["claims"]["iss"] == info.issuer
    assert "browser" not in proc.stderr
    called = cli("call", "--server", info.mcp_url, "--tool", "whoami", "--json")
    assert called.returncode == 0, called.stderr
    assert client["client_id"] in called.stdout and "authenticated" in called.stdout


def test_client_secret_post_at_the_token_endpoint(served):
    """The CLI picks basic when the AS lists both, so a post client is exercised over plain HTTP."""
    info, app = served
    client = register(served, token_endpoint_auth_method="client_secret_post")
    token_endpoint = app.state.local_as.metadata()["token_endpoint"]
    form = {"grant_type": "client_credentials", "resource": info.resource, "client_id": client["client_id"], "client_secret": client["client_secret"]}
    ok = httpx.post(token_endpoint, data=form, timeout=10)
    assert ok.status_code == 200 and ok.headers["cache-control"] == "no-store", ok.text
    assert "refresh_token" not in ok.json() and ok.json()["token_type"] == "Bearer"
    mcp = httpx.post(info.mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers={"Authorization": "Bearer " + ok.json()["access_token"], "Accept": "application/json, text/event-stream"}, timeout=10)
    assert mcp.status_code != 401, mcp.text
    basic = httpx.post(token_endpoint, data={"grant_type": "client_credentials", "resource": info.resource}, auth=(client["client_id"], client["client_secret"]), timeout=10)
    assert basic.status_code == 401 and basic.json()["error"] == "invalid_client"  # not its registered method


def test_a_public_client_cannot_register_for_client_credentials(served):
    info, app = served
    response = httpx.post(app.state.local_as.metadata()["registration_endpoint"], json={"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"}, timeout=10)
    assert response.status_code == 400 and response.json()["error"] == "invalid_client_metadata"


def test_a_wrong_secret_ends_with_invalid_client(served, cli):
    info, _app = served
    client = register(served)
    proc = cli("login", "--server", info.mcp_url, "--grant", "client-credentials", "--authkit-domain", info.issuer, "--client-id", client["client_id"], "--client-secret", "wrong", "--json")
    assert proc.returncode == 1, proc.stderr
    error = json.loads(proc.stdout)["error"]
    assert error["code"] == "oauth.remote-error" and error["remote"]["error"] == "invalid_client" and error["remote"]["status"] == 401


def test_a_client_secret_post_client_logs_in_with_auth_method(served, cli):
    """The AS accepts only the method a client registered with: --auth-method names it for a pre-registered client."""
    info, _app = served
    client = register(served, token_endpoint_auth_method="client_secret_post")
    args = ["login", "--server", info.mcp_url, "--grant", "client-credentials", "--authkit-domain", info.issuer, "--client-id", client["client_id"], "--client-secret", client["client_secret"], "--json"]
    refused = cli(*args)  # basic, the default when the AS lists both: refused as this client registered post
    assert refused.returncode == 1 and json.loads(refused.stdout)["error"]["remote"]["error"] == "invalid_client"
    proc = cli(*args, "--auth-method", "client_secret_post")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["verified"] and "client_secret_post; --auth-method" in proc.stderr
