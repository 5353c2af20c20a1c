"""A canned AuthKit + MCP server world behind respx: every response is a
Python function of the request, correct by default, and each test breaks one
thing. Used to test every check on passing and failing evidence."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import httpx
import jwt
import respx
from cryptography.hazmat.primitives.asymmetric import rsa

from authkit_mcp_cli.checks.catalogue import CATALOGUE
from authkit_mcp_cli.checks.model import Result
from authkit_mcp_cli.checks.probes import Probe
from authkit_mcp_cli.config import Target
from authkit_mcp_cli.doctor import diagnose

AS = "https://test-env.authkit.app"
ORIGIN = "https://mcp.example.com"
SERVER = ORIGIN + "/api/mcp"
PRM_PATH = ORIGIN + "/.well-known/oauth-protected-resource/api/mcp"
PRM_ROOT = ORIGIN + "/.well-known/oauth-protected-resource"

CORS = {"Access-Control-Allow-Origin": "*"}
LOGIN_ONLY = frozenset(c.id for c in CATALOGUE if Probe.TOKEN in c.probes and (c.area != "as" or Probe.ACTIVE_AS in c.probes))  # skip without doctor --login (--active)
Handler = Callable[[httpx.Request], httpx.Response]


@cache
def signing_jwk() -> dict[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": "authkit-key-1", "use": "sig", "alg": "RS256"}


def authkit_metadata() -> dict[str, Any]:
    """AuthKit's RFC 8414 document, as the integration guide shows it, plus CIMD and iss."""
    return {
        "authorization_endpoint": f"{AS}/oauth2/authorize",
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "introspection_endpoint": f"{AS}/oauth2/introspection",
        "issuer": AS,
        "registration_endpoint": f"{AS}/oauth2/register",
        "scopes_supported": ["email", "offline_access", "openid", "profile"],
        "response_modes_supported": ["query"],
        "response_types_supported": ["code"],
        "token_endpoint": f"{AS}/oauth2/token",
        "token_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic"],
        "jwks_uri": f"{AS}/oauth2/jwks",
        "client_id_metadata_document_supported": True,
        "authorization_response_iss_parameter_supported": True,
    }


def prm_document() -> dict[str, Any]:
    return {
        "resource": SERVER,
        "authorization_servers": [AS],
        "scopes_supported": ["openid", "profile", "email"],
        "bearer_methods_supported": ["header"],
    }


def json_response(doc: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=doc, headers={**CORS, **(headers or {})})


GOOD_CHALLENGE = f'Bearer resource_metadata="{PRM_PATH}", scope="openid profile email"'


@dataclass
class World:
    oauth_metadata: dict[str, Any] = field(default_factory=authkit_metadata)
    oidc_metadata: dict[str, Any] = field(default_factory=authkit_metadata)
    prm: dict[str, Any] = field(default_factory=prm_document)
    jwks: dict[str, Any] = field(default_factory=lambda: {"keys": [signing_jwk()]})
    challenge_header: str | None = GOOD_CHALLENGE
    challenge_status: int = 401
    token_status: int = 401
    routes: dict[tuple[str, str], Handler] = field(default_factory=dict)  # overrides by (method, url)
    requests: list[httpx.Request] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        url = str(request.url)
        override = self.routes.get((request.method, url)) or self.routes.get(("*", url))
        if override:
            return override(request)
        if url == f"{AS}/.well-known/oauth-authorization-server":
            return self.as_doc(request, self.oauth_metadata)
        if url == f"{AS}/.well-known/openid-configuration":
            return self.as_doc(request, self.oidc_metadata)
        if url == f"{AS}/oauth2/jwks":
            return json_response(self.jwks)
        if url in (PRM_PATH, PRM_ROOT):
            return json_response(self.prm)
        if url == SERVER:
            return self.mcp(request)
        return httpx.Response(404, text="not found")

    def as_doc(self, request: httpx.Request, doc: dict[str, Any]) -> httpx.Response:
        if request.method == "OPTIONS":
            return httpx.Response(204, headers={**CORS, "Access-Control-Allow-Headers": "mcp-protocol-version", "Access-Control-Allow-Methods": "GET"})
        return json_response(doc)

    def mcp(self, request: httpx.Request) -> httpx.Response:
        cors = {}
        if request.headers.get("origin"):
            cors = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "WWW-Authenticate, Mcp-Session-Id"}
        if request.method == "OPTIONS":
            return httpx.Response(
                204,
                headers={**cors, "Access-Control-Allow-Methods": "GET, POST, DELETE", "Access-Control-Allow-Headers": "authorization, content-type, mcp-protocol-version, mcp-session-id"},
            )
        auth = request.headers.get("authorization")
        if auth is None:
            headers = dict(cors)
            if self.challenge_header is not None:
                headers["WWW-Authenticate"] = self.challenge_header
            return httpx.Response(self.challenge_status, headers=headers, json={"error": "unauthorized"})
        return httpx.Response(
            self.token_status,
            headers={**cors, "WWW-Authenticate": f'Bearer error="invalid_token", error_description="bad token", resource_metadata="{PRM_PATH}"'},
        )

    def run(self, *, server: str | None = SERVER, authkit_domain: str | None = None, timeout: float = 5.0, checks: list | None = None, as_kind: str | None = None) -> dict[str, Result]:
        """doctor against this world, with respx intercepting the client diagnose() builds."""
        with respx.mock(assert_all_called=False) as router:
            router.route().mock(side_effect=self.handle)
            diagnosis = asyncio.run(diagnose(target(server, authkit_domain), list(CATALOGUE) if checks is None else checks, timeout=timeout, as_kind=as_kind))
        for r in diagnosis.results:
            assert_level_matches(r)
        return {r.check.id: r for r in diagnosis.results}

    def sent(self) -> list[str]:
        """The requests doctor sent, as "METHOD url" (with the Authorization scheme when there was one)."""
        out = []
        for r in self.requests:
            auth = r.headers.get("authorization")
            out.append(f"{r.method} {r.url}" + (f" [{auth.split(' ')[0]}]" if auth else ""))
        return out


def assert_level_matches(result: Result) -> None:
    """A MUST problem is fail, a SHOULD problem warn, never the reverse (design.md)."""
    pair = (result.check.level.value, result.status.value)
    assert pair not in (("MUST", "warn"), ("SHOULD", "fail"), ("MAY", "fail"), ("INFO", "warn"), ("INFO", "fail")), f"{result.check.id}: {pair}: {result.message}"


def target(server: str | None = SERVER, authkit_domain: str | None = None) -> Target:
    return Target(server_url=server, authkit_domain=authkit_domain, domain_source="--authkit-domain" if authkit_domain else None)
