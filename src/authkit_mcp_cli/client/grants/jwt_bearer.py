"""The JWT bearer authorization grant (RFC 7523 §2.1) for workload identity
federation (the MCP extension ``io.modelcontextprotocol/auth/wif``): a JWT
the workload already holds (a CI job's OIDC token, a cloud identity token) is
traded for an MCP access token. No browser, no loopback; ``resource`` names
the MCP server (RFC 8707 §2.2). The AS's refusal (``invalid_grant`` for a
wrong audience or an expired assertion, ``invalid_scope``,
``unauthorized_client``) ends the login with the AS's error: no retry, no
other grant."""

from __future__ import annotations

import time
from dataclasses import dataclass

from authkit_mcp_cli.client.context import Context, LoginOptions
from authkit_mcp_cli.client.grants.credentials import check_client_options, confidential_client, read_jwt, require
from authkit_mcp_cli.client.token_request import dpop_key_for, received, request_tokens
from authkit_mcp_cli.discovery import Discovered
from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import RemoteRefused, UsageError
from authkit_mcp_cli.issuers import assertion_audience_problem
from authkit_mcp_cli.oauth.assertion import describe_claims, read_claims
from authkit_mcp_cli.oauth.client_auth import ClientRegistration
from authkit_mcp_cli.oauth.grant_requests import jwt_bearer_request
from authkit_mcp_cli.oauth.grant_types import JWT_BEARER
from authkit_mcp_cli.oauth.token import Tokens

FLAG = "jwt-bearer"
HINTS = {
    "invalid_grant": "The AS refused the assertion: check its aud (the AS's issuer {issuer}), its exp, and that the AS trusts its issuer (a federation / trust policy for that iss and sub).",
    "invalid_scope": "The AS does not grant the scope asked for this workload: drop --scope or ask the AS operator.",
    "unauthorized_client": "The AS does not let this client use the JWT bearer grant.",
}


async def exchange_assertion(ctx: Context, disc: Discovered, reg: ClientRegistration, assertion: str, scope: str | None, what: str, *, opts: LoginOptions) -> Tokens:
    """One JWT bearer token request at the MCP server's AS (RFC 7523 §2.1), reported with the assertion's claims;
    bound to a DPoP key with ``--dpop`` (RFC 9449 §5)."""
    problem = assertion_audience(assertion, disc)
    if problem:  # RFC 7523 §3 item 3: never sent to an AS it does not name (issue #20 item 1)
        raise UsageError(
            f"Not sending {what} to {disc.issuer}: {problem}. An assertion is a credential for the authorization server it names; another one could replay it there.",
            code=ErrorCode.LOGIN_ASSERTION_AUDIENCE,
            hint=f"Use an assertion whose aud is {disc.issuer} (or its token endpoint); if the server should use the AS the assertion names, fix its protected-resource metadata.",
            spec="RFC 7523 §3 item 3; MCP 2026-07-28 Client Registration",
        )
    grants = disc.metadata.get("grant_types_supported")
    if isinstance(grants, list) and JWT_BEARER not in grants:
        ctx.report("warning", f"the AS lists grant_types_supported {grants} without {JWT_BEARER}; trying it anyway")
    request = jwt_bearer_request(disc.metadata, reg, assertion=assertion, resource=disc.resource, scope=scope)
    ctx.report("token", f"jwt-bearer at {request.url} with {what} ({describe_claims(assertion)}) for resource {disc.resource}, scope {scope or '(none)'}")
    try:
        tokens = await request_tokens(ctx, request, dpop_key_for(ctx, opts, disc.metadata), grant_type=JWT_BEARER)
    except RemoteRefused as exc:
        hint = HINTS.get(exc.error or "")
        if hint and not exc.hint:
            exc.hint = hint.format(issuer=disc.issuer)
        exc.spec = "RFC 7523 §3.1; RFC 6749 §5.2"
        raise
    ctx.report("token", received(tokens))
    return tokens


@dataclass
class JwtBearerGrant:
    opts: LoginOptions
    name: str = "jwt_bearer"

    def __post_init__(self) -> None:
        """Options are checked, and the assertion read, when the grant is built: before any request."""
        require(FLAG, assertion=self.opts.jwt_bearer.assertion)
        check_client_options(self.opts, FLAG)
        self.assertion = read_jwt(self.opts.jwt_bearer.assertion or "", "--assertion")

    async def obtain(self, ctx: Context, disc: Discovered, scope: str | None) -> tuple[ClientRegistration, Tokens]:
        reg = confidential_client(ctx, disc.metadata, disc.issuer, self.opts)
        if assertion_expired(self.assertion):
            ctx.report("warning", "the assertion has expired: the AS will likely refuse it (RFC 7523 §3 item 4)")
        return reg, await exchange_assertion(ctx, disc, reg, self.assertion, scope, "the --assertion JWT", opts=self.opts)


def assertion_audience(assertion: str, disc: Discovered) -> str | None:
    """Why ``assertion`` must not be sent to the discovered AS (its ``aud`` names another), or None."""
    read = read_claims(assertion)
    if read is None:
        return "it is not a JWT, so the authorization server it is meant for cannot be checked"
    return assertion_audience_problem(read[1].get("aud"), disc.issuer, disc.metadata.get("token_endpoint"))


def assertion_expired(assertion: str, now: float | None = None) -> bool:
    """A past ``exp`` (RFC 7523 §3 item 4): the AS will refuse it (said before sending; the AS decides)."""
    read = read_claims(assertion)
    exp = read[1].get("exp") if read else None
    return isinstance(exp, (int, float)) and not isinstance(exp, bool) and exp <= (now if now is not None else time.time())
