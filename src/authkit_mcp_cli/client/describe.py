"""What a user wants to know about a stored token, without the secret."""

from __future__ import annotations

import time
from typing import Any

from authkit_mcp_cli.client.diagnosis import as_is_authkit, audience_fix, audiences, token_claims
from authkit_mcp_cli.client.session import Session

SHOWN_CLAIMS = ("iss", "sub", "aud", "scope", "client_id", "exp", "iat")


def describe_tokens(session: Session) -> dict[str, Any]:
    """The login's facts, the token's claims (unverified), and the problems a correct server would refuse it for."""
    info: dict[str, Any] = {
        "server": session.server_url,
        "resource": session.resource,
        "issuer": session.issuer,
        "client_id": session.registration.client_id,
        "client_source": session.registration.source,
        "scope": session.tokens.scope,
        "expires_at": session.tokens.expires_at,
        "expires_in": int(session.tokens.expires_at - time.time()) if session.tokens.expires_at else None,
        "has_refresh_token": bool(session.tokens.refresh_token),
        "problems": [],
    }
    claims = token_claims(session.tokens.access_token)
    if claims is None:
        info["access_token_format"] = "opaque (not a JWT)"
    else:
        info["access_token_format"] = "JWT"
        info["claims"] = {k: claims.get(k) for k in SHOWN_CLAIMS if k in claims}
        if session.resource not in audiences(claims):
            info["problems"].append(f"the token's audience is {claims.get('aud')!r}, not this resource {session.resource!r}: a correct server rejects it. {audience_fix(session.resource, as_is_authkit(session.issuer))}")
        if claims.get("iss") != session.issuer:
            info["problems"].append(f"the token's issuer is {claims.get('iss')!r}, not {session.issuer!r}")
    if session.tokens.id_token:
        id_claims = token_claims(session.tokens.id_token) or {}
        if id_claims.get("email"):
            info["email"] = id_claims["email"]
    return info
