"""An MCP server this project did not write: the mcp SDK's own resource
server (MCPServer + AuthSettings + a token verifier), as its users build it.

It serves protected-resource metadata only at the path-inserted URL and
answers a request without credentials with error="invalid_token" and no
scope: doctor must describe exactly that.
"""

from __future__ import annotations

import httpx
import jwt
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer


class JwksVerifier:
    """Verifies RS256 JWTs from the AS's JWKS, audience pinned to the resource."""

    def __init__(self, issuer: str, resource: str) -> None:
        self.issuer, self.resource = issuer, resource
        self._jwks = jwt.PyJWKClient(f"{issuer}/oauth2/jwks")

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            key = self._jwks.get_signing_key_from_jwt(token)
            claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=self.resource, issuer=self.issuer)
        except (jwt.PyJWTError, httpx.HTTPError):
            return None
        return AccessToken(
            token=token,
            client_id=str(claims.get("client_id", "")),
            scopes=str(claims.get("scope", "")).split(),
            expires_at=claims.get("exp"),
            resource=self.resource,
        )


def build_sdk_app(issuer: str, base_url: str, path: str = "/api/mcp"):
    resource = base_url + path
    server = MCPServer(
        "sdk-test-server",
        token_verifier=JwksVerifier(issuer, resource),
        auth=AuthSettings(issuer_url=issuer, resource_server_url=resource, required_scopes=["mcp:tools"], validate_token_resource=False),
        log_level="WARNING",
    )

    @server.tool()
    def echo(text: str) -> str:
        return text

    return server.streamable_http_app(streamable_http_path=path, host="127.0.0.1")
