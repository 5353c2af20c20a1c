"""`atoms-auth serve` with real clients: the mcp SDK's own OAuth client, doctor,
and oidc-provider as an external AuthKit-like AS."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from mcp.shared.auth import AuthorizationCodeResult

from peers.sdk_client import REDIRECT_URI, HeadlessBrowser, call_whoami
from peers.serve_app import serve_app

pytestmark = pytest.mark.integration


@pytest.fixture
def local_serve():
    with serve_app() as (info, _app):
        yield info


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_sdk_oauth_client_completes_oauth_against_serve_and_calls_whoami(local_serve, mode):
    out, storage = asyncio.run(call_whoami(local_serve.mcp_url, mode=mode))
    assert {"whoami", "admin_echo"} <= set(out["tools"])
    payload = out["result"].structured_content or json.loads(out["result"].content[0].text)
    assert payload["authenticated"] is True
    assert payload["aud"] == local_serve.resource
    assert payload["iss"] == local_serve.issuer
    assert payload["sub"] == "user_dev_local"
    assert "mcp:tools" in payload["scopes"]
    assert storage.tokens.refresh_token  # rotating refresh tokens are issued to clients that registered for them


def test_sdk_client_steps_up_for_the_admin_tool(local_serve):
    out, storage = asyncio.run(call_whoami(local_serve.mcp_url, tool="admin_echo", arguments={"text": "hi"}))
    assert out["result"].is_error is not True
    assert out["result"].content[0].text == "hi"
    assert "mcp:admin" in (storage.tokens.scope or "")


def test_doctor_finds_nothing_wrong_with_serve(local_serve):
    proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "doctor", "--server", local_serve.mcp_url, "--json", "--strict"], capture_output=True, text=True, timeout=60)
    doc = json.loads(proc.stdout)
    assert proc.returncode == 0, {r["id"]: r["message"] for r in doc["results"] if r["status"] not in ("pass", "info", "skip")}
    assert doc["summary"]["fail"] == doc["summary"]["warn"] == doc["summary"]["error"] == 0


def test_serve_with_oidc_provider_accepts_its_tokens_for_this_resource_only(oidc_issuer):
    with serve_app(authkit_domain=oidc_issuer, required_scopes="mcp:tools", auto_approve=False) as (info, _app):
        out, _ = asyncio.run(call_whoami(info.mcp_url, scope="mcp:tools"))
        payload = out["result"].structured_content or json.loads(out["result"].content[0].text)
        assert payload["iss"] == oidc_issuer and payload["aud"] == info.resource
        # the same AS's token for another resource is refused
        other = info.resource.replace("/api/mcp", "/other")
        token = asyncio.run(_oidc_token(oidc_issuer, resource=other))
        response = httpx.post(info.mcp_url, headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json, text/event-stream"}, content=b"{}")
        assert response.status_code == 401
        assert "is not this resource" in response.headers["www-authenticate"]
        proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "doctor", "--server", info.mcp_url, "--json", "--strict"], capture_output=True, text=True, timeout=60)
        doc = json.loads(proc.stdout)
        assert proc.returncode == 0, {r["id"]: r["message"] for r in doc["results"] if r["status"] not in ("pass", "info", "skip")}


async def _oidc_token(issuer: str, *, resource: str) -> str:
    """An access token from oidc-provider for ``resource``, through its real flow."""
    async with httpx.AsyncClient(timeout=10) as http:
        reg = (await http.post(f"{issuer}/oauth2/register", json={"redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "none", "application_type": "native", "grant_types": ["authorization_code"]})).json()
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        browser = HeadlessBrowser()
        params = httpx.QueryParams({"client_id": reg["client_id"], "redirect_uri": REDIRECT_URI, "response_type": "code", "scope": "mcp:tools", "resource": resource, "code_challenge": challenge, "code_challenge_method": "S256", "state": "s"})
        await _follow_with_cookies(f"{issuer}/oauth2/authorize?{params}", browser)
        token = (await http.post(f"{issuer}/oauth2/token", data={"grant_type": "authorization_code", "code": browser.result.code, "redirect_uri": REDIRECT_URI, "client_id": reg["client_id"], "code_verifier": verifier, "resource": resource})).json()
    return token["access_token"]


async def _follow_with_cookies(url: str, browser) -> None:
    async with httpx.AsyncClient(follow_redirects=False, timeout=10) as http:
        for _ in range(10):
            if url.startswith(browser.redirect_prefix):
                q = parse_qs(urlsplit(url).query)
                browser.result = AuthorizationCodeResult(code=q["code"][0], state=q.get("state", [None])[0])
                return
            response = await http.get(url)
            url = str(httpx.URL(url).join(response.headers["location"]))
    raise AssertionError("no redirect to the client")
