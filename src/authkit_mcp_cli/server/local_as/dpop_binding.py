"""DPoP at the development AS's token endpoint (RFC 9449 §4.3, §5): check the
proof a token request carries and give the key's thumbprint, which the
access token then names in ``cnf.jkt`` (§6.1) and a public client's refresh
token keeps (§5).

The proof's form, ``typ``, ``alg``, key and signature are checked by the same
code as at the resource server (server/dpop_proof.verified_proof); only the
claims differ: at the token endpoint no access token exists yet (no ``ath``,
no ``cnf.jkt`` to match)."""

from __future__ import annotations

import time

from authkit_mcp_cli.oauth.dpop import htu, jwk_thumbprint
from authkit_mcp_cli.server.dpop_proof import ProofRejected, verified_proof
from authkit_mcp_cli.server.local_as.model import OAuthError
from authkit_mcp_cli.server.local_as.stores import ReplayCache

IAT_WINDOW = 60  # seconds either side of now a proof's iat may lie (§11.1)


def _refuse(why: str) -> OAuthError:
    return OAuthError("invalid_dpop_proof", f"DPoP proof refused: {why} (RFC 9449 §4.3)")


def verify_proof(proof: str, *, method: str, url: str, seen: ReplayCache, now: float | None = None) -> str:
    """The proof's key thumbprint (``jkt``) when the proof is valid for ``method`` ``url``; ``invalid_dpop_proof`` otherwise.

    Form, ``typ``, ``alg``, key and signature are checked as at the resource server (dpop_proof.verified_proof);
    what differs at the token endpoint is that no token exists yet: no ``ath``, no ``cnf.jkt`` to match."""
    try:
        claims, jwk = verified_proof(proof)
    except ProofRejected as exc:
        raise _refuse(exc.description) from None
    if claims.get("htm") != method.upper():
        raise _refuse(f"htm must be {method.upper()}")
    if not isinstance(claims.get("htu"), str) or htu(claims["htu"]) != htu(url):
        raise _refuse(f"htu must be {htu(url)}")
    iat = claims.get("iat")
    current = time.time() if now is None else now
    if not isinstance(iat, (int, float)) or isinstance(iat, bool) or abs(current - iat) > IAT_WINDOW:
        raise _refuse(f"iat must be within {IAT_WINDOW} s of the server's clock")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 256:
        raise _refuse("jti is missing")
    jkt = jwk_thumbprint(jwk)
    if jkt is None:
        raise _refuse("jwk lacks a member its thumbprint needs")
    if not seen.first_use(f"{jkt}:{jti}", current + 2 * IAT_WINDOW):
        raise _refuse("jti was already used (a replayed proof)")
    return jkt
