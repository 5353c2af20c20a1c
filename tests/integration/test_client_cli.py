"""register, login, call, token, logout as a user runs them, against serve's
development AS and against oidc-provider; BROWSER is a headless helper."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from peers.serve_app import serve_app
from peers.streams import paste_redirect

pytestmark = pytest.mark.integration
BROWSER = Path(__file__).resolve().parents[1] / "conformance" / "browser"


@pytest.fixture
def local():
    with serve_app() as (info, _app):
        yield info


@pytest.fixture
def cli(tmp_path):
    home = tmp_path / "home"
    log = tmp_path / "browser.log"
    env = {**os.environ, "ATOMS_AUTH_HOME": str(home), "BROWSER": str(BROWSER), "HEADLESS_BROWSER_LOG": str(log), "NO_COLOR": "1", "COLUMNS": "200"}

    def run(*args: str, input: str | None = None, check: bool = True, extra_env: dict | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", *args], capture_output=True, text=True, timeout=120, env={**env, **(extra_env or {})}, input=input, cwd=tmp_path)
        assert "Traceback" not in proc.stderr, proc.stderr
        if check:
            assert proc.returncode == 0, proc.stderr + proc.stdout
        return proc

    run.home = home
    run.log = log
    return run


def stored_tokens(home: Path) -> dict:
    (path,) = list((home / "tokens").glob("*.json"))
    return json.loads(path.read_text())


def test_login_call_step_up_refresh_logout_against_serve(local, cli):
    url = local.mcp_url
    login = json.loads(cli("login", "--server", url, "--json").stdout)
    assert login["logged_in"] and login["verified"] and set(login["tools"]) == {"whoami", "admin_echo"}
    assert login["claims"]["aud"] == local.resource and login["problems"] == []
    assert "secrets" not in login
    record = stored_tokens(cli.home)
    access, refresh = record["tokens"]["access_token"], record["tokens"]["refresh_token"]
    assert access not in json.dumps(login)

    listed = json.loads(cli("call", "--server", url, "--json").stdout)
    assert {t["name"] for t in listed["tools"]} == {"whoami", "admin_echo"}
    whoami = json.loads(cli("call", "--server", url, "--tool", "whoami", "--json").stdout)
    assert whoami["structuredContent"]["aud"] == local.resource

    # step-up: the admin tool needs mcp:admin; call authorizes again with the union of scopes
    echoed = cli("call", "--server", url, "--tool", "admin_echo", "--arguments", '{"text": "hi"}', "--json")
    assert json.loads(echoed.stdout)["content"][0]["text"] == "hi"
    assert "403 insufficient_scope" in echoed.stderr or "step-up" in echoed.stderr
    assert "mcp:admin" in stored_tokens(cli.home)["tokens"]["scope"]

    before = stored_tokens(cli.home)["tokens"]["refresh_token"]
    refreshed = json.loads(cli("token", "refresh", "--server", url, "--json").stdout)
    assert refreshed["refresh_token_rotated"] is True
    after = stored_tokens(cli.home)["tokens"]["refresh_token"]
    assert after != before
    # the rotated-out refresh token no longer works (and reusing it revokes the grant)
    client_id = stored_tokens(cli.home)["client"]["client_id"]
    old = httpx.post(local.issuer + "/oauth2/token", data={"grant_type": "refresh_token", "refresh_token": before, "client_id": client_id})
    assert old.status_code == 400 and old.json()["error"] == "invalid_grant"

    shown = json.loads(cli("token", "show", "--server", url, "--json").stdout)
    assert shown["has_refresh_token"] and "secrets" not in shown
    revealed = json.loads(cli("token", "show", "--server", url, "--json", "--reveal").stdout)
    assert revealed["secrets"]["access_token"] == stored_tokens(cli.home)["tokens"]["access_token"]

    final_access = stored_tokens(cli.home)["tokens"]["access_token"]
    out = json.loads(cli("logout", "--server", url, "--json").stdout)
    assert "refresh_token revoked" in out["logged_out"][0]["notes"]
    assert list((cli.home / "tokens").glob("*.json")) == []
    gone = httpx.post(url, headers={"Authorization": f"Bearer {final_access}", "Content-Type": "application/json", "Accept": "application/json, text/event-stream"}, content=b"{}")
    assert gone.status_code == 401
    denied = cli("call", "--server", url, check=False)
    assert denied.returncode == 5 and "Not logged in" in denied.stderr
    assert access and refresh


def test_secrets_never_reach_output_or_trace_without_reveal(local, cli, tmp_path):
    trace = tmp_path / "trace.jsonl"
    proc = cli("login", "--server", local.mcp_url, "--json", "--trace", str(trace))
    call = cli("call", "--server", local.mcp_url, "--tool", "whoami", "--json", "--trace", str(tmp_path / "t2.jsonl"))
    refresh = cli("token", "refresh", "--server", local.mcp_url, "--json", "--trace", str(tmp_path / "t3.jsonl"))
    record = stored_tokens(cli.home)
    client = json.loads(next((cli.home / "clients").glob("*.json")).read_text())
    secrets = [record["tokens"]["access_token"], record["tokens"]["refresh_token"], record["tokens"].get("id_token"), client.get("client_secret")]
    codes = re.findall(r"code=([^&\s]+)", cli.log.read_text())
    secrets += codes
    texts = [proc.stdout, proc.stderr, call.stdout, call.stderr, refresh.stdout, refresh.stderr, trace.read_text(), (tmp_path / "t2.jsonl").read_text(), (tmp_path / "t3.jsonl").read_text()]
    for secret in filter(None, secrets):
        for text in texts:
            assert secret not in text
    entries = [json.loads(line) for line in trace.read_text().splitlines()]
    token_calls = [e for e in entries if e["url"].endswith("/oauth2/token")]
    assert token_calls and "code_verifier=%5Bredacted" in token_calls[0]["request"]["body"]
    assert any(j["where"] == "access_token" for e in token_calls for j in e["jwts"])  # decoded claims, not the token


def test_no_browser_accepts_a_pasted_redirect_url(local, cli, tmp_path):
    env = {**os.environ, "ATOMS_AUTH_HOME": str(cli.home), "NO_COLOR": "1"}
    env.pop("BROWSER", None)
    proc = subprocess.Popen([sys.executable, "-m", "authkit_mcp_cli", "login", "--server", local.mcp_url, "--no-browser", "--json"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        out, err = paste_redirect(proc, timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert json.loads(out)["logged_in"] is True


def test_register_shows_asked_and_granted_and_masks_secrets(local, cli):
    out = json.loads(cli("register", "--server", local.mcp_url, "--auth-method", "client_secret_post", "--json").stdout)
    assert out["client_secret"].startswith("[redacted") and out["token_endpoint_auth_method"] == "client_secret_post"
    assert out["response"]["client_secret"].startswith("[redacted")
    revealed = json.loads(cli("register", "--server", local.mcp_url, "--auth-method", "client_secret_post", "--json", "--reveal", "--no-save").stdout)
    assert not revealed["client_secret"].startswith("[redacted") and revealed["saved_to"] is None
    refused = cli("register", "--server", local.mcp_url, "--redirect-uri", "http://evil.example.com/cb", check=False)
    assert refused.returncode == 1 and "invalid_redirect_uri" in refused.stderr and "RFC 7591" in refused.stderr


def test_pre_registered_confidential_client(local, cli):
    # a confidential client with one fixed redirect URI, as a dashboard registers it
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    reg = json.loads(cli("register", "--server", local.mcp_url, "--auth-method", "client_secret_basic", "--redirect-uri", f"http://127.0.0.1:{port}/oauth/callback", "--json", "--reveal", "--no-save").stdout)
    # a pre-registered client is used only with the AS it belongs to (issue #20 item 1): named here, as --no-save stored none
    out = json.loads(cli("login", "--server", local.mcp_url, "--authkit-domain", local.issuer, "--client-id", reg["client_id"], "--client-secret", "-", "--port", str(port), "--json", input=reg["client_secret"] + "\n").stdout)
    assert out["client_id"] == reg["client_id"] and out["client_source"] == "pre-registered" and out["verified"]


def test_cimd_document_round_trip(cli, tmp_path):
    doc_path = tmp_path / "client.json"
    cli("register", "--cimd-url", "https://example.com/oauth/client.json", "--client-name", "Example CLI", "--output", str(doc_path))
    doc = json.loads(doc_path.read_text())
    assert doc["client_id"] == "https://example.com/oauth/client.json" and doc["token_endpoint_auth_method"] == "none"
    assert doc_path.stat().st_mode & 0o777 == 0o644  # public: it is to be hosted
    bad = cli("register", "--cimd-url", "http://example.com/", check=False)
    assert bad.returncode == 2 and "https URL with a path" in bad.stderr
    # never through a symlink (issue #14 §9): the link's target stays as it was
    victim = tmp_path / "victim"
    victim.write_text("keep")
    (tmp_path / "link.json").symlink_to(victim)
    refused = cli("register", "--cimd-url", "https://example.com/oauth/client.json", "--output", str(tmp_path / "link.json"), check=False)
    assert refused.returncode == 2 and "symbolic link" in refused.stderr and victim.read_text() == "keep"


def test_login_and_call_through_oidc_provider(oidc_issuer, cli):
    with serve_app(authkit_domain=oidc_issuer, required_scopes="mcp:tools", auto_approve=False) as (info, _app):
        url = info.mcp_url
        login = json.loads(cli("login", "--server", url, "--json").stdout)
        assert login["issuer"] == oidc_issuer and login["claims"]["aud"] == url and login["verified"]
        assert login["client_source"] == "dcr"
        whoami = json.loads(cli("call", "--server", url, "--tool", "whoami", "--json").stdout)
        assert whoami["structuredContent"]["iss"] == oidc_issuer
        before = stored_tokens(cli.home)["tokens"]["refresh_token"]
        assert before, "oidc-provider issues refresh tokens with offline_access"
        refreshed = json.loads(cli("token", "refresh", "--server", url, "--json").stdout)
        assert refreshed["refresh_token_rotated"] is True
        # oidc-provider revokes the refresh token but refuses to revoke a JWT access token: logout says so and exits 1
        logout = cli("logout", "--server", url, "--json", check=False)
        out = json.loads(logout.stdout)
        assert logout.returncode == 1 and out["ok"] is False and out["error"]["code"] == "logout.not-revoked"
        outcomes = {o["token"]: o for o in out["logged_out"][0]["tokens"]}
        assert outcomes["refresh_token"]["outcome"] == "revoked"
        assert outcomes["access_token"]["outcome"] == "refused" and outcomes["access_token"]["error"] == "unsupported_token_type"
        assert outcomes["access_token"]["valid_until_utc"].endswith("UTC")
        assert list(cli.home.rglob("tokens/*.json")) == []  # forgotten locally all the same


def test_sign_in_through_html_forms_of_oidc_provider(cli):
    """oidc-provider's own login and consent forms, filled in by the test browser."""
    from peers.oidc_as import run_oidc_as

    with run_oidc_as(interaction="forms") as issuer:
        with serve_app(authkit_domain=issuer, required_scopes="mcp:tools", auto_approve=False) as (info, _app):
            url = info.mcp_url
            login = json.loads(cli("login", "--server", url, "--json").stdout)
            assert login["verified"] and login["claims"]["aud"] == url
    visited = cli.log.read_text()
    assert visited.count("/interaction/") >= 3  # the login form, its submission, the consent form


@pytest.mark.parametrize("decision", ["approve", "deny"])
def test_consent_page_of_the_development_as(cli, decision):
    with serve_app(auto_approve=False) as (info, _app):
        url = info.mcp_url
        proc = cli("login", "--server", url, "--json", "--no-verify", check=False, extra_env={"HEADLESS_BROWSER_DECISION": decision})
    assert "/oauth2/authorize/decision" in cli.log.read_text()
    if decision == "approve":
        assert proc.returncode == 0 and json.loads(proc.stdout)["logged_in"]
    else:
        assert proc.returncode == 5
        error = json.loads(proc.stdout)["error"]  # --json: one error document on stdout
        assert error["code"] == "authorization.denied" and error["remote"]["error"] == "access_denied"
