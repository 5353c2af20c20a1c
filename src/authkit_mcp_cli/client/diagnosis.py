"""Why an MCP server refuses a token the AS issued (``mcp.token-rejected``):
the server's answer, the token's claims against the resource and the AS,
and the likely cause with its fix. Pure: claims are read, not verified."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from authkit_mcp_cli.as_kind import is_authkit
from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import AtomsAuthError, AuthChallenge, RemoteRefused
from authkit_mcp_cli.redact import decode_jwt_unverified

if TYPE_CHECKING:
    from authkit_mcp_cli.client.session import Session

SPEC = "RFC 6750 §3.1; RFC 8707 §2; MCP 2026-07-28 Authorization: Token Audience Binding and Validation"


def audiences(claims: dict[str, Any]) -> list[str]:
    """The ``aud`` claim as a list (RFC 7519 §4.1.3: a string or an array)."""
    aud = claims.get("aud")
    return [aud] if isinstance(aud, str) else [a for a in aud if isinstance(a, str)] if isinstance(aud, list) else []


def token_claims(token: str) -> dict[str, Any] | None:
    """The claims of a JWT access token, unverified; None for an opaque token."""
    decoded = decode_jwt_unverified(token)
    return decoded["claims"] if decoded else None


def resource_indicator_fix(resource: str) -> str:
    """The AuthKit dashboard step that makes tokens carry ``resource`` as their audience."""
    return f"For AuthKit: in the WorkOS dashboard add the MCP Resource Indicator {resource} (this exact string, no trailing slash), then log in again."


def audience_fix(resource: str, authkit: bool) -> str:
    """How to make the AS put ``resource`` in the token's ``aud``: AuthKit's dashboard step only for AuthKit."""
    generic = f"Make the authorization server honour resource={resource} (RFC 8707) and put exactly that string in the access token's aud, then log in again."
    return resource_indicator_fix(resource) if authkit else generic


def as_is_authkit(issuer: str) -> bool:
    """AuthKit by its issuer host, or by the guide's configuration (FASTMCP_SERVER_AUTH=...AuthKitProvider)."""
    from authkit_mcp_cli.config import load_environment

    try:
        env = load_environment()
    except AtomsAuthError:  # an unreadable .env was reported when the command started
        env = {}
    return is_authkit(issuer, env)


def token_rejected(session: Session, challenge: AuthChallenge, *, resource: str | None = None, fresh: bool = True) -> RemoteRefused:
    """The ``mcp.token-rejected`` error: what the server said, what the token says, and the likely cause."""
    resource = resource or session.resource
    said = " ".join(p for p in (f"HTTP {challenge.status}", challenge.error) if p)
    if challenge.error_description:
        said += f' ("{challenge.error_description}")'
    claims = token_claims(session.tokens.access_token)
    facts, cause, hint = _compare(session, claims, resource, challenge.scope)
    if not fresh and cause.startswith("the token's audience and issuer"):
        # a stored token may simply have been revoked; a new one tells the two apart
        cause = "the stored token may have been revoked, or the server cannot verify tokens from this AS"
        hint = f"Run atoms-auth login --server {session.server_url}; if the new token is refused too, {hint[0].lower()}{hint[1:]}"
    which = "just issued" if fresh else "stored"
    compared = "; ".join(facts)
    return RemoteRefused(
        f"The MCP server refused the access token {which} for it: {said}. {compared[0].upper()}{compared[1:]}. Likely cause: {cause}.",
        code=ErrorCode.MCP_TOKEN_REJECTED,
        hint=hint,
        spec=SPEC,
        url=challenge.url,
        remote=challenge.remote,
    )


def _compare(session: Session, claims: dict[str, Any] | None, resource: str, challenged: str | None) -> tuple[list[str], str, str]:
    """(facts, likely cause, fix) from the token's claims against the resource and the AS."""
    authkit = as_is_authkit(session.issuer)
    if claims is None:
        facts = [
            f"the token is opaque (not a JWT), so its audience cannot be read here; resource {resource}, authorization server {session.issuer}",
            f"token scope {session.tokens.scope or '(none)'!r}, " + (f"challenged scope {challenged!r}" if challenged else "the challenge names no scope"),
        ]
        return facts, "the server cannot validate this AS's opaque tokens, or they are not issued for this resource", audience_fix(resource, authkit) + " Otherwise check how the server validates tokens (introspection or JWKS)."
    aud, iss = claims.get("aud"), claims.get("iss")
    scope = claims.get("scope") if isinstance(claims.get("scope"), str) else session.tokens.scope
    facts = [
        f"token aud {aud!r}, resource (protected-resource metadata) {resource!r}",
        f"token iss {iss!r}, authorization server {session.issuer!r}",
        f"token scope {scope or '(none)'!r}, " + (f"challenged scope {challenged!r}" if challenged else "the challenge names no scope"),
    ]
    if resource not in audiences(claims):
        return facts, "the token's audience is not this resource, so the server must refuse it (RFC 8707)", audience_fix(resource, authkit)
    if iss != session.issuer:
        return facts, "the token's issuer is not the authorization server the server names", f"Make the server's protected-resource metadata and its token validation name the same issuer, {iss!r} (exact string)."
    exp = claims.get("exp")
    if isinstance(exp, (int, float)) and exp < time.time():
        return facts, "the token has expired (check the clocks of the AS and this machine)", f"Run atoms-auth login --server {session.server_url}."
    return facts, (
        "the token's audience and issuer are right, so the server cannot verify it: it checks the signature against other keys (JWKS),"
        " or expects another issuer or audience string than its metadata names"
    ), (
        f"Check the server's token validation: its JWKS URL and its configured issuer must be the AS's ({session.issuer}"
        + ("; for FastMCP's AuthKitProvider, FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_AUTHKIT_DOMAIN" if authkit else "")
        + f"), and its expected audience {resource}. atoms-auth doctor --server {session.server_url} --login checks the token and the server's validation."
    )
