"""The tools `serve` offers: enough to prove a token works and to show step-up."""

from __future__ import annotations

import time
from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import MCPServer


def register_tools(server: MCPServer, *, admin_scope: str | None) -> dict[str, tuple[str, ...]]:
    """Register the tools; return the extra scopes each needs (for the step-up check)."""

    @server.tool(description="Who the verified bearer token says you are: sub, scopes, aud, iss, exp, client_id.")
    def whoami() -> dict[str, Any]:
        token = get_access_token()
        if token is None:  # the guard never lets this happen; kept for a clear message
            return {"authenticated": False}
        claims = token.claims or {}
        exp = claims.get("exp")
        return {
            "authenticated": True,
            "sub": claims.get("sub"),
            "email": claims.get("email"),
            "scopes": token.scopes,
            "aud": claims.get("aud"),
            "iss": claims.get("iss"),
            "exp": exp,
            "expires_in": int(exp - time.time()) if isinstance(exp, (int, float)) else None,
            "client_id": token.client_id,
        }

    description = "Echo text back; needs the extra scope " + (admin_scope or "(none configured)") + " to demonstrate step-up authorization."

    @server.tool(description=description)
    def admin_echo(text: str) -> str:
        return text

    return {"admin_echo": (admin_scope,)} if admin_scope else {}
