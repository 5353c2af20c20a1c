"""serve --authkit-domain with any spec-following AS: the keys are read from the
jwks_uri of the AS's metadata, not assumed at <issuer>/oauth2/jwks; when they
cannot be fetched, the 401's error_description and the log say why.

- oidc-provider with its JWKS at /jwks (JWKS_PATH): doctor --login passes
  token.signature and server.accepts-token through serve (before, serve asked
  /oauth2/jwks, got 404, and refused every token with "no signing key has kid");
- an AS whose metadata names an unreachable jwks_uri, and an issuer with no
  metadata at all: the description names the JWKS URL or the metadata.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from authkit_mcp_cli.challenge import Challenges
from peers.asgi import serve_asgi
from peers.key_as import KeyAS
from peers.oidc_as import run_oidc_as
from peers.serve_app import serve_app

pytestmark = pytest.mark.integration
BROWSER = Path(__file__).resolve().parents[1] / "conformance" / "browser"
MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
INIT = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})


def test_serve_reads_jwks_uri_from_oidc_provider_metadata(tmp_path):
    with run_oidc_as(env={"JWKS_PATH": "/jwks"}) as issuer:
        assert httpx.get(issuer + "/.well-known/oauth-authorization-server").json()["jwks_uri"] == issuer + "/jwks"
        assert httpx.get(issuer + "/oauth2/jwks").status_code == 404  # where serve used to look
        with serve_app(authkit_domain=issuer, required_scopes="mcp:tools", auto_approve=False) as (info, _app):
            env = {**os.environ, "ATOMS_AUTH_HOME": str(tmp_path / "home"), "BROWSER": str(BROWSER), "NO_COLOR": "1"}
            proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "doctor", "--json", "--server", info.mcp_url, "--login", "--check", "token.signature", "--check", "server.accepts-token"], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    results = {r["id"]: r for r in json.loads(proc.stdout)["results"]}
    assert results["token.signature"]["status"] == "pass" and results["token.signature"]["evidence"]["jwks_uri"] == issuer + "/jwks"
    assert results["server.accepts-token"]["status"] == "pass", results["server.accepts-token"]["message"]


def refusal(info, token: str) -> str:
    response = httpx.post(info.mcp_url, headers={**MCP_HEADERS, "Authorization": f"Bearer {token}"}, content=INIT, timeout=10)
    assert response.status_code == 401
    bearer = Challenges.read(401, response.headers.get_list("www-authenticate")).bearer
    assert bearer is not None and bearer.get("error") == "invalid_token"
    return bearer.get("error_description") or ""


def test_an_unreachable_jwks_is_named_in_the_401_and_the_log(caplog):
    key_as = KeyAS()
    key_as.add_key("k1")

    def metadata_app(base: str) -> Starlette:
        key_as.issuer = base

        async def metadata(request):
            return JSONResponse({"issuer": base, "authorization_endpoint": base + "/authorize", "token_endpoint": base + "/token", "jwks_uri": "http://127.0.0.1:9/keys", "response_types_supported": ["code"], "code_challenge_methods_supported": ["S256"]})

        return Starlette(routes=[Route("/.well-known/oauth-authorization-server", metadata)])

    with caplog.at_level(logging.WARNING, logger="atoms_auth.serve"), serve_asgi(metadata_app) as as_base, serve_app(authkit_domain=as_base, required_scopes="mcp:tools", auto_approve=False) as (info, _app):
        description = refusal(info, key_as.token(key_as.claims(info.resource)))
    assert "signing keys could not be fetched" in description and "http://127.0.0.1:9/keys" in description, description
    assert "no signing key has kid" not in description
    assert any("JWKS fetch from http://127.0.0.1:9/keys failed" in r.getMessage() for r in caplog.records)


def test_an_issuer_without_metadata_is_named_in_the_401(caplog):
    key_as = KeyAS()
    key_as.add_key("k1")
    with caplog.at_level(logging.WARNING, logger="atoms_auth.serve"), serve_asgi(lambda base: Starlette(routes=[])) as as_base, serve_app(authkit_domain=as_base, required_scopes="mcp:tools", auto_approve=False) as (info, _app):
        key_as.issuer = as_base
        description = refusal(info, key_as.token(key_as.claims(info.resource)))
    assert f"reading the jwks_uri of {as_base} from its metadata failed: no metadata found" in description, description
    assert any("from its metadata failed" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(("issuer", "dashboard_step"), [("https://test-env.authkit.app", True), ("https://login.example.com", False)])
def test_the_audience_refusal_names_authkit_only_for_authkit(issuer, dashboard_step):
    import asyncio

    from authkit_mcp_cli.server.jwks import JwksCache
    from authkit_mcp_cli.server.verifier import TokenRejected, TokenValidator

    key_as = KeyAS(issuer=issuer)
    key_as.add_key("k1")
    validator = TokenValidator(issuer=issuer, resource="https://mcp.example.com/api/mcp", jwks=JwksCache.static(key_as.jwks()))
    with pytest.raises(TokenRejected) as refused:
        asyncio.run(validator.verify(key_as.token(key_as.claims("https://api.example.com"))))
    assert "is not this resource" in refused.value.description
    assert ("WorkOS dashboard" in refused.value.description) is dashboard_step
