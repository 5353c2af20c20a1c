"""Enterprise-managed authorization (the MCP extension
``io.modelcontextprotocol/enterprise-managed-authorization``;
draft-ietf-oauth-identity-assertion-authz-grant), two legs without a browser:

1. at the enterprise IdP (its metadata found from ``--idp-issuer``, RFC 8414 /
   OIDC Discovery), token exchange (RFC 8693 §2.1) of the user's ID token for
   an Identity Assertion JWT Authorization Grant (ID-JAG) whose ``audience`` is
   the MCP server's AS and whose ``resource`` is the MCP server;
2. at the MCP server's AS, the JWT bearer grant (RFC 7523 §2.1) with the ID-JAG
   as the assertion, the client authenticating as registered there.

Each leg is a reported step with its evidence (the ID-JAG's claims, never the token)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from authkit_mcp_cli.client.context import Context, LoginOptions, PrivateKeyJwtOptions, send
from authkit_mcp_cli.client.grants.credentials import check_client_options, confidential_client, read_jwt, require
from authkit_mcp_cli.client.grants.jwt_bearer import assertion_audience, exchange_assertion
from authkit_mcp_cli.discovery import Discovered, fetch_as_metadata
from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import ProtocolError, RemoteRefused
from authkit_mcp_cli.oauth.assertion import describe_claims, read_claims
from authkit_mcp_cli.oauth.client_auth import ClientRegistration
from authkit_mcp_cli.oauth.grant_types import TOKEN_EXCHANGE
from authkit_mcp_cli.oauth.token import Tokens
from authkit_mcp_cli.oauth.token_exchange import ID_JAG_TYPE, parse_token_exchange_response, token_exchange_request
from authkit_mcp_cli.urls import is_absolute_http_url, is_secure_url

FLAG = "enterprise"


@dataclass
class EnterpriseGrant:
    opts: LoginOptions
    name: str = "enterprise"

    def __post_init__(self) -> None:
        """Options are checked, and the ID token read, when the grant is built: before any request."""
        idp = self.opts.enterprise
        require(FLAG, idp_issuer=idp.idp_issuer, idp_client_id=idp.idp_client_id, id_token=idp.id_token, client_id=self.opts.client_id)
        check_client_options(self.opts, FLAG)
        self.id_token = read_jwt(idp.id_token or "", "--id-token")

    async def obtain(self, ctx: Context, disc: Discovered, scope: str | None) -> tuple[ClientRegistration, Tokens]:
        opts = self.opts
        idp_issuer = opts.enterprise.idp_issuer or ""
        metadata, metadata_url = await fetch_as_metadata(ctx.client, idp_issuer, ctx.policy)
        token_endpoint = metadata.get("token_endpoint")
        if not isinstance(token_endpoint, str) or not is_absolute_http_url(token_endpoint) or not (is_secure_url(token_endpoint) or ctx.policy.allow_insecure):
            raise ProtocolError(f"The IdP's metadata ({metadata_url}) has no usable https token_endpoint ({token_endpoint!r}).", code=ErrorCode.AS_ENDPOINT_MISSING, spec="RFC 8414 §2", url=metadata_url)
        ctx.report("discover", f"enterprise IdP {idp_issuer} (metadata {metadata_url}); token endpoint {token_endpoint}")
        grants = metadata.get("grant_types_supported")
        if isinstance(grants, list) and TOKEN_EXCHANGE not in grants:
            ctx.report("warning", f"the IdP lists grant_types_supported {grants} without token-exchange; trying it anyway")

        # leg 1: ID token -> ID-JAG at the IdP (RFC 8693)
        idp_client = confidential_client(ctx, metadata, idp_issuer, replace(opts, client_id=opts.enterprise.idp_client_id, client_secret=opts.enterprise.idp_client_secret, private_key_jwt=PrivateKeyJwtOptions()), at="at the IdP")
        request = token_exchange_request(token_endpoint, idp_client, subject_token=self.id_token, audience=disc.issuer, resource=disc.resource, scope=scope)
        ctx.report("token-exchange", f"RFC 8693 at {token_endpoint}: the ID token ({describe_claims(self.id_token)}) for an ID-JAG with audience {disc.issuer}, resource {disc.resource}")
        status, body = await send(ctx, request)
        try:
            issued = parse_token_exchange_response(status, body, expected_type=ID_JAG_TYPE, url=request.url)
        except RemoteRefused as exc:
            exc.hint = exc.hint or "The IdP refused the exchange: check --id-token (issued by the IdP to --idp-client-id, not expired), --idp-client-id/--idp-client-secret, and that the IdP lets this client obtain ID-JAGs for this AS."
            raise
        ctx.report("token-exchange", f"ID-JAG received ({describe_claims(issued.token)})")
        _check_id_jag(ctx, issued.token, disc, opts.client_id or "")

        # leg 2: ID-JAG -> access token at the MCP server's AS (RFC 7523 §2.1)
        reg = confidential_client(ctx, disc.metadata, disc.issuer, opts, at="at the AS")
        return reg, await exchange_assertion(ctx, disc, reg, issued.token, scope, "the ID-JAG", opts=self.opts)


def _check_id_jag(ctx: Context, token: str, disc: Discovered, client_id: str) -> None:
    """Say what the AS will refuse before asking it: an ID-JAG for another AS, resource or client (evidence only; the AS decides)."""
    problem = assertion_audience(token, disc)
    if problem:  # never sent to an AS it was not issued for (RFC 7523 §3 item 3; issue #20 item 1)
        raise ProtocolError(
            f"The IdP's ID-JAG cannot be sent to {disc.issuer}: {problem}.",
            code=ErrorCode.LOGIN_ASSERTION_AUDIENCE,
            hint=f"The exchange asked the IdP for an ID-JAG with audience {disc.issuer}; check the IdP's trust policy for this AS, or --idp-issuer.",
            spec="Identity Assertion JWT Authorization Grant (an ID-JAG's aud is the AS's issuer); RFC 7523 §3 item 3",
        )
    read = read_claims(token)
    assert read is not None  # assertion_audience refused a token that is not a JWT
    header, claims = read
    if claims.get("resource") not in (None, disc.resource):
        ctx.report("warning", f"the ID-JAG's resource {claims.get('resource')!r} is not {disc.resource}")
    if claims.get("client_id") not in (None, client_id):
        ctx.report("warning", f"the ID-JAG is for client {claims.get('client_id')!r}, not --client-id {client_id}")
    if header.get("typ") not in (None, "oauth-id-jag+jwt"):
        ctx.report("warning", f"the ID-JAG's typ is {header.get('typ')!r}, not oauth-id-jag+jwt")
