"""call, logout and token refresh against MCP servers and authorization
servers this project did not write (issue 11, items 1, 5, 6, 7, 8), run as a
user runs them: atoms-auth as a subprocess, output through pipes.

- the TypeScript SDK's example server (peers.ts_example): server log
  notifications from `multi-greet`, an unknown tool, a stale token answered
  with 500 and no challenge, no refresh token, no revocation endpoint;
- FastMCP's in-memory OAuth provider (peers.fastmcp_peer): revocation that
  authenticates the client (a public client must send an empty client_secret
  field; a wrong secret is refused and the token stays valid);
- oidc-provider: in front of the mcp SDK's resource server that refuses its
  tokens (peers.rejecting_rs), in front of one that requires a scope the AS
  never grants (repeated 403), and refusing to revoke its JWT access tokens.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from peers import oauth_flow as flow
from peers.asgi import serve_asgi
from peers.oidc_as import PeerMissing, run_oidc_as
from peers.processes import free_ports
from peers.rejecting_rs import run_oidc_with_rejecting_server

pytestmark = pytest.mark.integration
BROWSER = Path(__file__).resolve().parents[1] / "conformance" / "browser"
SDK_NOISE = ("Traceback", "internal error", "This is a bug", "Error parsing SSE message", "MCPError", "BrokenResourceError")


@pytest.fixture
def cli(tmp_path):
    """atoms-auth in a subprocess, stdout and stderr pipes, no COLUMNS: what a script or CI sees."""
    home = tmp_path / "home"
    env = {**os.environ, "ATOMS_AUTH_HOME": str(home), "BROWSER": str(BROWSER), "HEADLESS_BROWSER_LOG": str(tmp_path / "browser.log"), "NO_COLOR": "1"}
    for name in ("COLUMNS", "LINES", "ATOMS_AUTH_DEBUG", "FORCE_COLOR", "TTY_COMPATIBLE"):
        env.pop(name, None)

    def run(*args: str, code: int | None = 0) -> subprocess.CompletedProcess:
        proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", *args], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
        for text in (proc.stdout, proc.stderr):
            for noise in SDK_NOISE:
                assert noise not in text, text
        if code is not None:
            assert proc.returncode == code, proc.stderr + proc.stdout
        return proc

    run.home = home
    return run


def stored(home: Path) -> dict:
    (path,) = list((home / "tokens").glob("*.json"))
    return json.loads(path.read_text())


def store_files(home: Path) -> list[str]:
    """Everything left in the token store (lock files included)."""
    folder = home / "tokens"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def error_of(proc: subprocess.CompletedProcess) -> dict:
    return json.loads(proc.stdout)["error"]


def utc(when: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(when))


# --- item 6: call shows the MCP side (TypeScript SDK example) ---------------------------


def test_server_log_notifications_are_log_lines_and_an_unknown_tool_is_a_refusal(ts_example, cli):
    url = ts_example.mcp_url
    cli("login", "--server", url)
    greeted = cli("call", "--server", url, "--tool", "multi-greet", "--arguments", '{"name": "bob"}')
    assert greeted.stdout.strip() == "Good morning, bob!"
    logs = [line for line in greeted.stderr.splitlines() if line.startswith("server log:")]
    assert logs == ["server log: debug Starting multi-greet for bob", "server log: info Sending first greeting to bob", "server log: info Sending second greeting to bob"], greeted.stderr
    as_json = cli("call", "--server", url, "--tool", "multi-greet", "--arguments", '{"name": "ann"}', "--json")
    assert json.loads(as_json.stdout)["content"][0]["text"] == "Good morning, ann!"  # stdout stays one document
    assert "server log: info Sending first greeting to ann" in as_json.stderr

    unknown = cli("call", "--server", url, "--tool", "multi-greeet", code=1)
    assert "error: The MCP server has no tool 'multi-greeet'; it offers: greet, multi-greet," in unknown.stderr
    assert "code: mcp.unknown-tool" in unknown.stderr
    error = error_of(cli("call", "--server", url, "--tool", "multi-greeet", "--json", code=1))
    assert error["code"] == "mcp.unknown-tool" and "multi-greet" in error["hint"]


def test_a_stale_token_answered_with_500_is_one_clear_error(ts_example, cli):
    """Item 1/6: the example forgets its tokens on restart and then answers them with 500, no WWW-Authenticate.
    One anonymous request proves it is the token (401 without it); with --login, call logs in again."""
    url = ts_example.mcp_url
    cli("login", "--server", url)
    ts_example.restart()
    human = cli("call", "--server", url, code=1)
    assert "error: The MCP server answered HTTP 500 with no Bearer challenge; body: " in human.stderr
    assert '{"error":"server_error","error_description":"Internal Server Error"}' in human.stderr
    assert "Without a token the same request is answered 401 with a Bearer challenge, so the server fails on the stored token" in human.stderr
    assert "code: mcp.http-error" in human.stderr and "taking the token as refused" in human.stderr
    error = error_of(cli("call", "--server", url, "--json", code=1))
    assert error["code"] == "mcp.http-error" and error["url"] == url
    assert error["remote"] == {"status": 500, "error": "server_error", "error_description": "Internal Server Error", "url": url}
    assert f"atoms-auth login --server {url}" in error["hint"]

    recovered = cli("call", "--server", url, "--login")  # logs in again (the restarted AS gets a new registration)
    assert "multi-greet" in recovered.stdout and "authorization code received" in recovered.stderr


# --- item 7 (refresh) and item 5 (no revocation endpoint): TypeScript SDK example ------------


def test_token_refresh_without_a_refresh_token_says_so(ts_example, cli):
    url = ts_example.mcp_url
    cli("login", "--server", url)
    assert stored(cli.home)["tokens"]["refresh_token"] is None  # the example's AS issues none
    proc = cli("token", "refresh", "--server", url, code=1)
    assert "error: The AS issued no refresh token for this login, so there is nothing to refresh with." in proc.stderr
    assert "expired" not in proc.stderr.split("fix:")[0]
    assert f"fix: Run atoms-auth login --server {url}" in proc.stderr and "code: token.no-refresh-token" in proc.stderr
    assert error_of(cli("token", "refresh", "--server", url, "--json", code=1))["code"] == "token.no-refresh-token"
    assert [name for name in store_files(cli.home) if name.endswith(".lock")] == []


def test_logout_where_the_as_has_no_revocation_endpoint(ts_example, cli):
    url = ts_example.mcp_url
    cli("login", "--server", url)
    expires_at = stored(cli.home)["tokens"]["expires_at"]
    doc = json.loads(cli("logout", "--server", url, "--json").stdout)
    assert doc["ok"] is True and "error" not in doc
    (entry,) = doc["logged_out"]
    (access,) = entry["tokens"]  # no refresh token was issued
    assert access["token"] == "access_token" and access["outcome"] == "not-possible"
    assert access["valid_until"] == expires_at and access["valid_until_utc"] == utc(expires_at)
    assert entry["forgotten"] is True and store_files(cli.home) == []

    cli("login", "--server", url)
    human = cli("logout", "--server", url)
    assert "the AS offers no revocation endpoint; forgotten here only, it stays valid at the AS until" in human.stdout
    assert store_files(cli.home) == []


# --- item 5: FastMCP, whose revocation authenticates the client ------------------------------


def test_logout_of_a_public_client_at_fastmcp(fastmcp_peer, cli):
    """A public client sends its client_id only (RFC 7009 §2.1); FastMCP answers 400 "client_secret: Field
    required", so atoms-auth retries once with an empty client_secret field, and the tokens are revoked."""
    url = fastmcp_peer.mcp_url
    (port,) = free_ports(1)
    public = flow.register(flow.as_metadata(fastmcp_peer.issuer), redirect_uri=f"http://127.0.0.1:{port}/oauth/callback", auth_method="none", scope="mcp:tools")
    cli("login", "--server", url, "--authkit-domain", fastmcp_peer.issuer, "--client-id", public["client_id"], "--port", str(port))  # a pre-registered public client
    record = stored(cli.home)
    assert record["client"]["token_endpoint_auth_method"] == "none"
    access = record["tokens"]["access_token"]
    cli("token", "refresh", "--server", url)
    assert store_files(cli.home) == [next((cli.home / "tokens").glob("*.json")).name]  # no lock file after a refresh
    access = stored(cli.home)["tokens"]["access_token"]

    doc = json.loads(cli("logout", "--server", url, "--json").stdout)
    tokens = doc["logged_out"][0]["tokens"]
    assert [(t["token"], t["outcome"], t["empty_secret_retry"]) for t in tokens] == [("refresh_token", "revoked", True), ("access_token", "revoked", True)]
    assert doc["ok"] is True and store_files(cli.home) == []
    after = flow.mcp_post(url, flow.initialize_message(), token=access)
    assert after.status_code == 401  # really revoked at the AS


def test_logout_refused_by_fastmcp_exits_1_and_the_token_stays_valid(fastmcp_peer, cli):
    url = fastmcp_peer.mcp_url
    cli("register", "--server", url, "--auth-method", "client_secret_post")
    cli("login", "--server", url)
    path = next((cli.home / "tokens").glob("*.json"))
    record = json.loads(path.read_text())
    record["client"]["client_secret"] = "not-the-secret"  # the AS now refuses to authenticate the client
    path.write_text(json.dumps(record))
    access, expires_at = record["tokens"]["access_token"], record["tokens"]["expires_at"]

    proc = cli("logout", "--server", url, "--json", code=1)
    doc = json.loads(proc.stdout)
    assert doc["ok"] is False and doc["error"]["code"] == "logout.not-revoked"
    refresh, access_outcome = doc["logged_out"][0]["tokens"]
    for outcome in (refresh, access_outcome):
        assert (outcome["outcome"], outcome["status"], outcome["error"], outcome["error_description"]) == ("refused", 401, "unauthorized_client", "Invalid client_secret")
    assert access_outcome["valid_until"] == expires_at
    assert f"it stays valid at the AS until {utc(expires_at)} (its exp)" in access_outcome["message"]
    assert store_files(cli.home) == []  # forgotten here all the same
    response, _ = flow.mcp_initialize(url, access)
    assert response.status_code == 200  # and the AS indeed still accepts it

    cli("login", "--server", url)  # the stored client (with its real secret) logs in again
    path = next((cli.home / "tokens").glob("*.json"))
    record = json.loads(path.read_text())
    record["client"]["client_secret"] = "not-the-secret"
    path.write_text(json.dumps(record))
    human = cli("logout", "--server", url, code=1)
    assert 'access_token: the AS refused to revoke it: HTTP 401 unauthorized_client ("Invalid client_secret"); it stays valid at the AS until' in human.stdout
    assert "error: The authorization server did not revoke 2 token(s)" in human.stderr and "code: logout.not-revoked" in human.stderr


def test_logout_of_a_confidential_client_at_fastmcp(fastmcp_peer, cli):
    url = fastmcp_peer.mcp_url
    cli("register", "--server", url, "--auth-method", "client_secret_post")
    cli("login", "--server", url)
    access = stored(cli.home)["tokens"]["access_token"]
    human = cli("logout", "--server", url)
    assert "  refresh_token revoked\n  access_token revoked\n  stored tokens deleted" in human.stdout
    assert store_files(cli.home) == []
    assert flow.mcp_post(url, flow.initialize_message(), token=access).status_code == 401


# --- item 5: oidc-provider does not revoke JWT access tokens -----------------------------------


def test_logout_where_the_as_refuses_to_revoke_a_jwt_access_token(sdk_server, cli):
    cli("login", "--server", sdk_server)
    tokens = stored(cli.home)["tokens"]
    exp = flow.decode_jwt_claims(tokens["access_token"])["exp"]
    doc = json.loads(cli("logout", "--server", sdk_server, "--json", code=1).stdout)
    refresh, access = doc["logged_out"][0]["tokens"]
    assert refresh["outcome"] == "revoked"
    assert (access["outcome"], access["status"], access["error"]) == ("refused", 400, "unsupported_token_type")
    assert abs(access["valid_until"] - exp) <= 2  # the stored expires_at, from expires_in: the JWT's exp
    assert doc["error"]["remote"]["error"] == "unsupported_token_type" and store_files(cli.home) == []
    response, _ = flow.mcp_initialize(sdk_server, tokens["access_token"])
    assert response.status_code == 200  # the server verifies the JWT itself: it stays valid until exp


# --- item 1: oidc-provider in front of a server that refuses its tokens --------------------------


@pytest.mark.parametrize("reject", ["audience", "signature", "issuer"])
def test_the_server_refuses_the_new_token(reject, cli):
    try:
        with run_oidc_with_rejecting_server(reject=reject) as server:
            url, issuer = server.mcp_url, server.issuer
            error = error_of(cli("login", "--server", url, "--json", code=1))
            assert error["code"] == "mcp.token-rejected"
            assert error["remote"]["status"] == 401 and error["remote"]["error"] == "invalid_token" and error["remote"]["error_description"] == "Authentication required"
            message = error["message"]
            assert message.startswith('The MCP server refused the access token just issued for it: HTTP 401 invalid_token ("Authentication required").')
            assert f"Token aud '{url}', resource (protected-resource metadata) '{url}'" in message
            assert f"token iss '{issuer}', authorization server '{issuer}'" in message
            assert "token scope 'mcp:tools', the challenge names no scope" in message
            assert "Likely cause: the token's audience and issuer are right, so the server cannot verify it: it checks the signature against other keys (JWKS), or expects another issuer or audience string" in message
            assert "JWKS URL and its configured issuer" in error["hint"] and f"expected audience {url}" in error["hint"]

            called = cli("call", "--server", url, code=1)  # the stored (refused) login: refresh once, then the same diagnosis
            assert "code: mcp.token-rejected" in called.stderr and "cannot verify it" in called.stderr
            assert "Not logged in" not in called.stderr and "Run atoms-auth login" not in called.stderr
            with_login = cli("call", "--server", url, "--login", "--json", code=1)
            assert error_of(with_login)["code"] == "mcp.token-rejected" and with_login.stderr.count("authorization code received") <= 1
            assert [name for name in store_files(cli.home) if name.endswith(".lock")] == []
    except PeerMissing as exc:
        pytest.fail(str(exc))


# --- item 6: repeated 403 from the mcp SDK's resource server, oidc-provider never grants the scope ----


def test_repeated_403_names_the_scopes_asked_and_not_granted(cli):
    from mcp.server.auth.settings import AuthSettings
    from mcp.server.mcpserver import MCPServer

    from peers.sdk_server import JwksVerifier

    try:
        with run_oidc_as(env={"RESOURCE_SCOPES": "mcp:tools"}) as issuer:

            def build(base: str):
                resource = base + "/api/mcp"
                server = MCPServer("admin-only", token_verifier=JwksVerifier(issuer, resource), auth=AuthSettings(issuer_url=issuer, resource_server_url=resource, required_scopes=["mcp:tools", "mcp:admin"], validate_token_resource=False), log_level="WARNING")  # the verifier checks aud itself

                @server.tool()
                def echo(text: str) -> str:
                    return text

                return server.streamable_http_app(streamable_http_path="/api/mcp", host="127.0.0.1")

            with serve_asgi(build) as base:
                url = base + "/api/mcp"
                error = error_of(cli("login", "--server", url, "--json", code=1))
    except PeerMissing as exc:
        pytest.fail(str(exc))
    assert error["code"] == "mcp.step-up-exhausted" and error["remote"]["status"] == 403
    message = error["message"]
    assert message.startswith('The server still answers 403 insufficient_scope after 3 authorizations: its challenge names no scope ("Required scope: mcp:admin").')
    asked = re.search(r"atoms-auth asked the AS for '([^']*)' and got '([^']*)': the AS did not grant '([^']*)'", message)
    assert asked, message
    assert "mcp:admin" in asked.group(1).split() and "mcp:admin" not in asked.group(2).split() and "mcp:admin" in asked.group(3).split()


# --- item 8: output into pipes is not wrapped ------------------------------------------------------


def test_piped_output_is_never_wrapped_nor_padded(fastmcp_peer, cli):
    url = fastmcp_peer.mcp_url
    long_url = "https://example.com/" + "/".join(f"segment-{i:02d}" for i in range(16)) + "?q=" + "x" * 20
    assert len(long_url) > 160
    cli("login", "--server", url)
    echoed = cli("call", "--server", url, "--tool", "echo", "--arguments", json.dumps({"text": long_url}))
    assert any(long_url in line for line in echoed.stdout.splitlines()), echoed.stdout

    far = "http://127.0.0.1:9/" + "/".join(f"path-{i:02d}" for i in range(20))
    unreachable = cli("call", "--server", far, code=None)
    assert unreachable.returncode != 0 and any(far in line for line in unreachable.stderr.splitlines()), unreachable.stderr

    doctor = cli("doctor", "--server", url, code=None)
    outputs = [echoed, unreachable, doctor, cli("token", "show", "--server", url), cli("logout", "--server", url)]
    for proc in outputs:
        for line in (proc.stdout + proc.stderr).splitlines():
            assert line == line.rstrip(), f"padded: {line!r}"
    assert any(fastmcp_peer.prm_url in line for line in doctor.stdout.splitlines()), doctor.stdout
    assert max(len(line) for line in doctor.stdout.splitlines()) > 100  # lines are as long as their content
