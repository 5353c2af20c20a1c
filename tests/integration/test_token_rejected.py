"""A token the AS issued that the MCP server refuses (401 invalid_token),
as users meet it, for real: login and call end in one mcp.token-rejected
error (exit 1) that compares the token with the resource and names the fix,
never an internal error and never "run login" again.

- serve whose development AS issues tokens for another audience: what an
  AuthKit environment without the MCP Resource Indicator does;
- the mcp SDK's own resource server that verifies against another issuer,
  with oidc-provider as the AS: the audience is right, verification is not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jwt
import pytest

from peers.asgi import serve_asgi
from peers.serve_app import serve_app

pytestmark = pytest.mark.integration
BROWSER = Path(__file__).resolve().parents[1] / "conformance" / "browser"
WRONG_AUDIENCE = "https://api.example.com"
AUTHKIT_SERVER_AUTH = "FASTMCP_SERVER_AUTH=fastmcp.server.auth.providers.workos.AuthKitProvider"  # the integration guide's .env line


@pytest.fixture
def cli(tmp_path):
    env = {**os.environ, "ATOMS_AUTH_HOME": str(tmp_path / "home"), "BROWSER": str(BROWSER), "HEADLESS_BROWSER_LOG": str(tmp_path / "browser.log"), "NO_COLOR": "1", "COLUMNS": "200"}
    env.pop("ATOMS_AUTH_DEBUG", None)

    def run(*args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", *args], capture_output=True, text=True, timeout=120, env={**env, **(extra_env or {})}, cwd=tmp_path)
        for text in (proc.stdout, proc.stderr):
            assert "Traceback" not in text and "internal error" not in text and "This is a bug" not in text, text
        return proc

    run.cwd = tmp_path
    return run


def issue_for_another_audience(local_as, audience: str) -> None:
    """Make serve's development AS sign access tokens whose aud is ``audience``, not the resource asked for."""
    issue = local_as._issue

    def _issue(*args, **kwargs):
        response = issue(*args, **kwargs)
        claims = jwt.decode(response["access_token"], options={"verify_signature": False})
        response["access_token"] = jwt.encode({**claims, "aud": audience}, local_as._key, algorithm="RS256", headers={"kid": local_as.kid, "typ": "at+jwt"})
        return response

    local_as._issue = _issue


def error_document(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 1, proc.stderr + proc.stdout
    return json.loads(proc.stdout)["error"]


def test_login_and_call_with_a_token_for_another_audience(cli):
    with serve_app() as (info, app):
        issue_for_another_audience(app.state.local_as, WRONG_AUDIENCE)
        url = info.mcp_url

        # the guide's .env names AuthKitProvider: the fix is AuthKit's dashboard step
        (Path(cli.cwd) / ".env").write_text(f"{AUTHKIT_SERVER_AUTH}\n")
        error = error_document(cli("login", "--server", url, "--json"))
        assert error["code"] == "mcp.token-rejected"
        assert error["remote"]["status"] == 401 and error["remote"]["error"] == "invalid_token"
        assert "audience" in error["remote"]["error_description"]  # serve says why, and the message repeats it
        assert f"Token aud '{WRONG_AUDIENCE}', resource (protected-resource metadata) '{url}'" in error["message"]
        assert f"token iss '{info.issuer}', authorization server '{info.issuer}'" in error["message"]
        assert "Likely cause: the token's audience is not this resource" in error["message"]
        assert f"add the MCP Resource Indicator {url} (this exact string, no trailing slash)" in error["hint"]

        human = cli("login", "--server", url)
        assert human.returncode == 1
        assert "error: The MCP server refused the access token just issued for it: HTTP 401 invalid_token" in human.stderr
        assert f"fix: For AuthKit: in the WorkOS dashboard add the MCP Resource Indicator {url}" in human.stderr

        # the stored token: call refreshes once, then reports the same cause instead of "run login"
        called = cli("call", "--server", url)
        assert called.returncode == 1, called.stderr
        assert "refresh" in called.stderr and "mcp.token-rejected" in called.stderr
        assert "Token aud 'https://api.example.com'" in called.stderr and "Resource Indicator" in called.stderr
        assert "Run atoms-auth login" not in called.stderr and "Not logged in" not in called.stderr
        assert error_document(cli("call", "--server", url, "--json"))["code"] == "mcp.token-rejected"

        # nothing says the AS is AuthKit (a development AS on 127.0.0.1): generic advice, no dashboard steps
        (Path(cli.cwd) / ".env").unlink()
        generic = error_document(cli("login", "--server", url, "--json"))
        assert generic["code"] == "mcp.token-rejected" and "Likely cause: the token's audience is not this resource" in generic["message"]
        assert f"honour resource={url} (RFC 8707)" in generic["hint"] and "WorkOS" not in generic["hint"] and "AuthKit" not in generic["hint"]


def test_login_against_a_server_that_verifies_with_another_issuer(oidc_issuer, cli):
    from mcp.server.auth.settings import AuthSettings
    from mcp.server.mcpserver import MCPServer

    from peers.sdk_server import JwksVerifier

    def build(base: str):
        resource = base + "/api/mcp"
        verifier = JwksVerifier(oidc_issuer, resource)
        verifier.issuer = "https://elsewhere.example"  # misconfigured: every token of the real AS fails verification
        server = MCPServer("misconfigured", token_verifier=verifier, auth=AuthSettings(issuer_url=oidc_issuer, resource_server_url=resource, required_scopes=["mcp:tools"], validate_token_resource=False), log_level="WARNING")

        @server.tool()
        def echo(text: str) -> str:
            return text

        return server.streamable_http_app(streamable_http_path="/api/mcp", host="127.0.0.1")

    with serve_asgi(build) as base:
        url = base + "/api/mcp"
        error = error_document(cli("login", "--server", url, "--json"))
    assert error["code"] == "mcp.token-rejected" and error["remote"]["status"] == 401
    assert f"Token aud '{url}', resource (protected-resource metadata) '{url}'" in error["message"]
    assert "Likely cause: the token's audience and issuer are right, so the server cannot verify it" in error["message"]
    assert "JWKS URL and its configured issuer" in error["hint"] and "Resource Indicator" not in error["hint"]
