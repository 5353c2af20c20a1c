"""What a user wants to know about a stored token, without the secret."""

from __future__ import annotations

import time
from typing import Any

from authkit_mcp_cli.client.diagnosis import as_is_authkit, audience_fix, audiences, token_claims
from authkit_mcp_cli.client.session import Session
from authkit_mcp_cli.urls import broader_audience

SHOWN_CLAIMS = ("iss", "sub", "aud", "scope", "client_id", "exp", "iat")


def describe_tokens(session: Session) -> dict[str, Any]:
    """The login's facts, the token's claims (unverified), and the problems a correct server would refuse it for."""
    info: dict[str, Any] = {
        "server": session.server_url,
        "resource": session.resource,
        "broader_audience": broader_audience(session.resource, session.server_url),  # PRM named a prefix of the server URL
        "issuer": session.issuer,
        "client_id": session.registration.client_id,
        "client_source": session.registration.source,
        "scope": session.tokens.scope,
        "expires_at": session.tokens.expires_at,
        "expires_in": int(session.tokens.expires_at - time.time()) if session.tokens.expires_at else None,
        "has_refresh_token": bool(session.tokens.refresh_token),
        "grant_type": session.tokens.grant_type,
        "token_type": session.tokens.token_type,
        "dpop_bound": bool(session.tokens.dpop_key),
        "dpop_jkt": _thumbprint(session.tokens.dpop_key),
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
        jkt = (claims.get("cnf") or {}).get("jkt") if isinstance(claims.get("cnf"), dict) else None
        if info["dpop_jkt"] and jkt and jkt != info["dpop_jkt"]:
            info["problems"].append(f"the token is bound to key {jkt!r} (cnf.jkt), not to the stored DPoP key {info['dpop_jkt']!r}: every proof will be refused")
        if claims.get("iss") != session.issuer:
            info["problems"].append(f"the token's issuer is {claims.get('iss')!r}, not {session.issuer!r}")
    if session.tokens.id_token:
        id_claims = token_claims(session.tokens.id_token) or {}
        if id_claims.get("email"):
            info["email"] = id_claims["email"]
    return info


def login_summary(info: dict[str, Any]) -> dict[str, Any]:
    """One stored login at a glance (``token list``, the agent's token_status): no secret, the token's
    audience but not its other claims."""
    expires_at = info["expires_at"]
    return {
        "server": info["server"],
        "resource": info["resource"],
        "issuer": info["issuer"],
        "audience": (info.get("claims") or {}).get("aud"),
        "scope": info["scope"],
        "expires_at": expires_at,
        "expires_in": info["expires_in"],
        "expired": bool(expires_at and expires_at <= time.time()),
        "has_refresh_token": info["has_refresh_token"],
        "grant_type": info["grant_type"],
        "token_type": info["token_type"],
        "dpop_bound": info["dpop_bound"],
        "access_token_format": info["access_token_format"],
        "client_id": info["client_id"],
        "problems": info["problems"],
    }


def _thumbprint(dpop_key: dict[str, str] | None) -> str | None:
    """The stored DPoP key's RFC 7638 thumbprint; pyjwt and cryptography load only for a DPoP-bound login."""
    if not dpop_key:
        return None
    from authkit_mcp_cli.oauth.dpop import DpopKey

    return DpopKey.from_json(dpop_key).thumbprint()
