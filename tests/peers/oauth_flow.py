"""A plain-httpx OAuth client for driving third-party peers in tests, step by
step: dynamic registration, an authorization-code + PKCE request followed
like a browser (cookies kept, redirects followed) up to the redirect URI,
which is not requested, the token request, and MCP requests with the token.

This is test scaffolding to prove a peer is usable, not the product's client:
tests of atoms-auth's own behaviour drive the CLI against the same peers.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

REDIRECT_URI = "http://127.0.0.1:53682/oauth/callback"  # never listened on: the flow stops at its redirect
MCP_ACCEPT = "application/json, text/event-stream"
PROTOCOL_VERSION = "2025-11-25"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def as_metadata(issuer: str) -> dict:
    """RFC 8414 metadata at the issuer's root well-known URL (all three peers serve it there)."""
    response = httpx.get(issuer.rstrip("/") + "/.well-known/oauth-authorization-server", timeout=10)
    response.raise_for_status()
    return response.json()


def register(metadata: dict, *, redirect_uri: str = REDIRECT_URI, auth_method: str | None = "none", **extra) -> dict:
    """RFC 7591 registration; ``auth_method=None`` sends no token_endpoint_auth_method (the AS's default)."""
    body = {"client_name": "atoms-auth peer test", "redirect_uris": [redirect_uri], "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"], **extra}
    if auth_method is not None:
        body["token_endpoint_auth_method"] = auth_method
    response = httpx.post(metadata["registration_endpoint"], json=body, timeout=10)
    assert response.status_code == 201, f"registration refused: {response.status_code} {response.text}"
    return response.json()


@dataclass
class AuthorizationResult:
    """Where the authorization request ended: the redirect to the client, or a page that was not one."""

    visited: list[str] = field(default_factory=list)
    params: dict[str, str] = field(default_factory=dict)  # the redirect URI's query, when reached
    status: int | None = None  # the last response's status, when it was not a redirect to the client
    body: str = ""

    @property
    def reached_client(self) -> bool:
        return bool(self.params)


def authorize(authorization_endpoint: str, params: dict[str, str], *, redirect_uri: str = REDIRECT_URI, max_hops: int = 15) -> AuthorizationResult:
    """Request the authorization URL like a browser that signs in at once; stop at ``redirect_uri``."""
    url = authorization_endpoint + ("&" if "?" in authorization_endpoint else "?") + urlencode(params)
    result = AuthorizationResult()
    with httpx.Client(follow_redirects=False, timeout=10) as browser:
        for _ in range(max_hops):
            result.visited.append(url)
            response = browser.get(url)
            if response.status_code not in (301, 302, 303, 307, 308):
                result.status, result.body = response.status_code, response.text[:2000]
                return result
            url = str(httpx.URL(url).join(response.headers["location"]))
            if url.split("?", 1)[0] == redirect_uri:
                result.visited.append(url)
                result.params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
                return result
    raise AssertionError(f"no end to the redirects: {result.visited}")


@dataclass
class Login:
    """A finished authorization-code + PKCE login: the client and the token response."""

    client: dict
    tokens: dict
    authorization: AuthorizationResult

    @property
    def access_token(self) -> str:
        return self.tokens["access_token"]


def token_request(metadata: dict, client: dict, data: dict[str, str]) -> httpx.Response:
    """POST to the token endpoint, authenticating as the client registered (secret in the body for client_secret_post, Basic for client_secret_basic)."""
    form = {"client_id": client["client_id"], **data}
    auth = None
    method = client.get("token_endpoint_auth_method")
    if client.get("client_secret"):
        if method == "client_secret_basic":
            auth = httpx.BasicAuth(client["client_id"], client["client_secret"])
        else:
            form["client_secret"] = client["client_secret"]
    return httpx.post(metadata["token_endpoint"], data=form, auth=auth, timeout=10)


def login(metadata: dict, *, resource: str | None, scope: str | None, client: dict | None = None, auth_method: str | None = "none", register_extra: dict | None = None) -> Login:
    """Register (unless ``client`` is given), authorize, and exchange the code; asserts each step succeeded."""
    client = client or register(metadata, auth_method=auth_method, **(register_extra or {}))
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(16)
    params = {"response_type": "code", "client_id": client["client_id"], "redirect_uri": REDIRECT_URI, "state": state, "code_challenge": challenge, "code_challenge_method": "S256"}
    if scope:
        params["scope"] = scope
    if resource:
        params["resource"] = resource
    result = authorize(metadata["authorization_endpoint"], params)
    assert result.reached_client, f"the authorization did not reach the client: {result.status} {result.body[:500]} after {result.visited}"
    assert result.params.get("state") == state and "code" in result.params, result.params
    data = {"grant_type": "authorization_code", "code": result.params["code"], "code_verifier": verifier, "redirect_uri": REDIRECT_URI}
    if resource:
        data["resource"] = resource
    response = token_request(metadata, client, data)
    assert response.status_code == 200, f"token request refused: {response.status_code} {response.text}"
    return Login(client=client, tokens=response.json(), authorization=result)


def mcp_post(mcp_url: str, message: dict, *, token: str | None = None, session_id: str | None = None) -> httpx.Response:
    headers = {"Accept": MCP_ACCEPT, "Content-Type": "application/json", "MCP-Protocol-Version": PROTOCOL_VERSION}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if session_id:
        headers["Mcp-Session-Id"] = session_id
    return httpx.post(mcp_url, json=message, headers=headers, timeout=10)


def initialize_message(request_id: int = 1) -> dict:
    return {"jsonrpc": "2.0", "id": request_id, "method": "initialize", "params": {"protocolVersion": PROTOCOL_VERSION, "capabilities": {}, "clientInfo": {"name": "atoms-auth-peer-test", "version": "0"}}}


def jsonrpc_result(response: httpx.Response) -> dict:
    """The JSON-RPC message of a plain JSON or single-event SSE response."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        for line in response.text.splitlines():
            if line.startswith("data:") and line[5:].strip():
                message = json.loads(line[5:])
                if "result" in message or "error" in message:
                    return message
        raise AssertionError(f"no JSON-RPC message in the event stream: {response.text[:500]}")
    return response.json()


def mcp_initialize(mcp_url: str, token: str) -> tuple[httpx.Response, dict]:
    """An authenticated initialize; returns the response and its JSON-RPC message (when 200)."""
    response = mcp_post(mcp_url, initialize_message(), token=token)
    return response, (jsonrpc_result(response) if response.status_code == 200 else {})


def decode_jwt_claims(token: str) -> dict:
    """A JWT's payload, unverified (to compare aud/iss in a test); raises ValueError for an opaque token."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a JWT")
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    return json.loads(base64.urlsafe_b64decode(payload))
