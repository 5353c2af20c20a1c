"""An MCP server that misbehaves on request: each test picks one fault.

Faults: no WWW-Authenticate header, PRM served as HTML, PRM answering 500,
a redirect loop on the PRM URL, answers slower than the client's timeout,
a wrong PRM resource, and an AS whose metadata names another issuer or
lacks PKCE (this app doubles as the AS at /as).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route


@dataclass
class Faults:
    no_header: bool = False
    prm_html: bool = False
    prm_500: bool = False
    prm_redirect_loop: bool = False
    slow_seconds: float = 0.0
    wrong_resource: bool = False
    wrong_issuer: bool = False
    no_pkce: bool = False
    extra: dict = field(default_factory=dict)


def build_broken_app(base: str, faults: Faults) -> Starlette:
    mcp_url = base + "/api/mcp"
    prm_url = base + "/.well-known/oauth-protected-resource/api/mcp"
    issuer = base + "/as"

    async def mcp(request: Request) -> Response:
        if faults.slow_seconds:
            await asyncio.sleep(faults.slow_seconds)
        headers = {} if faults.no_header else {"WWW-Authenticate": f'Bearer resource_metadata="{prm_url}", scope="mcp:tools"'}
        if request.headers.get("authorization"):
            headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        return JSONResponse({"error": "unauthorized"}, status_code=401, headers=headers)

    async def prm(request: Request) -> Response:
        if faults.prm_html:
            return HTMLResponse("<html><body>Welcome to our marketing site</body></html>")
        if faults.prm_500:
            return Response("Internal Server Error", status_code=500)
        if faults.prm_redirect_loop:
            return RedirectResponse(prm_url + "/again" if not request.url.path.endswith("/again") else prm_url, status_code=302)
        resource = base + "/other" if faults.wrong_resource else mcp_url
        # public metadata, readable by browser-based clients (prm.cors): not one of the faults
        return JSONResponse({"resource": resource, "authorization_servers": [issuer], "scopes_supported": ["mcp:tools"]}, headers={"Access-Control-Allow-Origin": "*"})

    async def as_metadata(request: Request) -> Response:
        doc = {
            "issuer": "https://impostor.example.com" if faults.wrong_issuer else issuer,
            "authorization_endpoint": issuer + "/authorize",
            "token_endpoint": issuer + "/token",
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
            "registration_endpoint": issuer + "/register",
        }
        if faults.no_pkce:
            del doc["code_challenge_methods_supported"]
        return JSONResponse(doc)

    return Starlette(
        routes=[
            Route("/api/mcp", mcp, methods=["GET", "POST", "OPTIONS"]),
            Route("/.well-known/oauth-protected-resource/api/mcp", prm),
            Route("/.well-known/oauth-protected-resource/api/mcp/again", prm),
            Route("/.well-known/oauth-protected-resource", prm),
            Route("/.well-known/oauth-authorization-server/as", as_metadata),
        ]
    )
