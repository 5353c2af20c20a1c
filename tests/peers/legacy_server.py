"""A 2025-03-26-style MCP server: no protected-resource metadata (both
well-known PRM URLs are 404), the MCP endpoint at /mcp answers 401 with a bare
`WWW-Authenticate: Bearer` (no resource_metadata; no error code either, with
or without a token), and the server's origin is
its own authorization server: /.well-known/oauth-authorization-server at the
origin names the origin as issuer, with /authorize, /token and /register (the
2025-03-26 revision's default endpoints), S256, open registration. Clients of
that revision log in there; clients of 2025-06-18 and later look for PRM and
stop. Only the metadata is served: nothing here logs anyone in.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def build_legacy_app(base: str) -> Starlette:
    async def mcp(request: Request) -> Response:
        return JSONResponse({"error": "unauthorized"}, status_code=401, headers={"WWW-Authenticate": "Bearer"})

    async def metadata(request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": base,
                "authorization_endpoint": base + "/authorize",
                "token_endpoint": base + "/token",
                "registration_endpoint": base + "/register",
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["none"],
            }
        )

    return Starlette(routes=[Route("/mcp", mcp, methods=["POST", "GET"]), Route("/.well-known/oauth-authorization-server", metadata)])
