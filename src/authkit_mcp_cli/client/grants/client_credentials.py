"""The client credentials grant (RFC 6749 §4.4; the MCP extension
``io.modelcontextprotocol/oauth-client-credentials``): a confidential client
obtains a token for itself, no user, no browser, no loopback. The client
authenticates with its secret (basic or post, as the AS advertises) or with a
signed assertion (``private_key_jwt``, RFC 7523 §2.2 with the claims of §3);
``resource`` names the MCP server (RFC 8707 §2.2)."""

from __future__ import annotations

from dataclasses import dataclass

from authkit_mcp_cli.client.context import Context, LoginOptions
from authkit_mcp_cli.client.grants.credentials import check_client_options, confidential_client, require
from authkit_mcp_cli.client.token_request import dpop_key_for, received, request_tokens
from authkit_mcp_cli.discovery import Discovered
from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import RemoteRefused, UsageError
from authkit_mcp_cli.oauth.client_auth import ClientRegistration
from authkit_mcp_cli.oauth.grant_requests import client_credentials_request
from authkit_mcp_cli.oauth.token import Tokens

FLAG = "client-credentials"


@dataclass
class ClientCredentialsGrant:
    opts: LoginOptions
    name: str = "client_credentials"

    def __post_init__(self) -> None:
        """Options are checked when the grant is built, before any request."""
        require(FLAG, client_id=self.opts.client_id)
        if not (self.opts.client_secret or self.opts.private_key_jwt.private_key):
            raise UsageError(
                "--grant client-credentials needs the client's credential: --client-secret, or --private-key (private_key_jwt).",
                code=ErrorCode.USAGE_MISSING_OPTION,
                hint="e.g. atoms-auth login --server URL --grant client-credentials --client-id ID --client-secret SECRET",
            )
        check_client_options(self.opts, FLAG)

    async def obtain(self, ctx: Context, disc: Discovered, scope: str | None) -> tuple[ClientRegistration, Tokens]:
        grants = disc.metadata.get("grant_types_supported")
        if isinstance(grants, list) and "client_credentials" not in grants:
            ctx.report("warning", f"the AS lists grant_types_supported {grants} without client_credentials; trying it anyway")
        reg = confidential_client(ctx, disc.metadata, disc.issuer, self.opts)
        # no refresh token comes back (RFC 6749 §4.4.3): offline_access asks for nothing here
        scope = " ".join(s for s in (scope or "").split() if s != "offline_access") or None
        request = client_credentials_request(disc.metadata, reg, resource=disc.resource, scope=scope)
        ctx.report("token", f"client_credentials at {request.url} for resource {disc.resource}, scope {scope or '(none)'}")
        try:
            tokens = await request_tokens(ctx, request, dpop_key_for(ctx, self.opts, disc.metadata), grant_type="client_credentials")
        except RemoteRefused as exc:
            if exc.error == "invalid_client" and not exc.hint:
                exc.hint = f"The AS does not accept client {reg.client_id} with {reg.token_endpoint_auth_method}: check the client id, its " + (
                    "registered public key (JWKS) and --signing-alg/--key-id" if reg.token_endpoint_auth_method == "private_key_jwt" else "secret"
                ) + ", and that the AS lets it use the client_credentials grant."
            raise
        ctx.report("token", received(tokens))
        return reg, tokens
