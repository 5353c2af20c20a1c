"""A server that accepts tokens for any resource: the mcp SDK's own resource
server (MCPServer + AuthSettings, as in peers.sdk_server) whose verifier checks
the signature against the AS's JWKS, the issuer and the expiry, but not `aud`.

Its protected-resource metadata is right (`resource` = its MCP URL,
`authorization_servers` = [the issuer], `scopes_supported` ["mcp:tools"],
path-inserted URL only), and it refuses garbage, forged and expired tokens
with 401 invalid_token. Only a real token the AS minted for another resource
shows the fault: it is accepted (doctor's server.rejects-other-resource-token).
"""

from __future__ import annotations

import httpx
import jwt
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer


class AnyAudienceVerifier:
    def __init__(self, issuer: str) -> None:
        self.issuer = issuer
        self._jwks = jwt.PyJWKClient(f"{issuer}/oauth2/jwks")

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            key = self._jwks.get_signing_key_from_jwt(token)
            claims = jwt.decode(token, key.key, algorithms=["RS256"], issuer=self.issuer, options={"verify_aud": False})
        except (jwt.PyJWTError, httpx.HTTPError):
            return None
        return AccessToken(token=token, client_id=str(claims.get("client_id", "")), scopes=str(claims.get("scope", "")).split(), expires_at=claims.get("exp"))


def build_any_resource_app(issuer: str, base_url: str, path: str = "/api/mcp"):
    server = MCPServer(
        "any-resource-server",
        token_verifier=AnyAudienceVerifier(issuer),
        auth=AuthSettings(issuer_url=issuer, resource_server_url=base_url + path, required_scopes=["mcp:tools"], validate_token_resource=False),
        log_level="WARNING",
    )

    @server.tool()
    def echo(text: str) -> str:
        return text

    return server.streamable_http_app(streamable_http_path=path, host="127.0.0.1")
