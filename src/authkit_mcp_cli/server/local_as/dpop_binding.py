"""DPoP at the development AS's token endpoint (RFC 9449 §4.3, §5): check the
proof a token request carries and give the key's thumbprint, which the
access token then names in ``cnf.jkt`` (§6.1) and a public client's refresh
token keeps (§5).

(The resource server verifies proofs on MCP requests in server/dpop_proof.py,
which needs the access token (``ath``) and its ``cnf.jkt``; at the token
endpoint neither exists yet, so the checks are repeated here with the same
algorithms and thumbprint.)"""

from __future__ import annotations

import time

import jwt

from authkit_mcp_cli.oauth.dpop import htu, jwk_thumbprint
from authkit_mcp_cli.server.dpop_proof import ALGS
from authkit_mcp_cli.server.local_as.model import OAuthError
from authkit_mcp_cli.server.local_as.stores import ReplayCache

IAT_WINDOW = 60  # seconds either side of now a proof's iat may lie (§11.1)
_KTY_FOR_ALG = {"ES": "EC", "RS": "RSA", "PS": "RSA", "Ed": "OKP"}
_PUBLIC_MEMBERS = {"EC": ("kty", "crv", "x", "y"), "RSA": ("kty", "e", "n"), "OKP": ("kty", "crv", "x")}


def _refuse(why: str) -> OAuthError:
    return OAuthError("invalid_dpop_proof", f"DPoP proof refused: {why} (RFC 9449 §4.3)")


def verify_proof(proof: str, *, method: str, url: str, seen: ReplayCache, now: float | None = None) -> str:
    """The proof's key thumbprint (``jkt``) when the proof is valid for ``method`` ``url``; ``invalid_dpop_proof`` otherwise."""
    if not proof or proof.count(".") != 2 or len(proof) > 8192:
        raise _refuse("not a compact JWS")
    try:
        header = jwt.get_unverified_header(proof)
    except jwt.PyJWTError:
        raise _refuse("the header is not JSON") from None
    if header.get("typ") != "dpop+jwt":
        raise _refuse("typ must be dpop+jwt")
    alg, jwk = header.get("alg"), header.get("jwk")
    if not isinstance(alg, str) or alg not in ALGS:
        raise _refuse(f"alg must be one of {', '.join(ALGS)}")
    if not isinstance(jwk, dict) or jwk.get("kty") != _KTY_FOR_ALG[alg[:2]] or not all(isinstance(jwk.get(k), str) for k in _PUBLIC_MEMBERS[str(jwk["kty"])]):
        raise _refuse("jwk must be the public key of the alg")
    if any(k in jwk for k in ("d", "p", "q", "dp", "dq", "qi")):
        raise _refuse("jwk must not contain a private key")
    try:
        key = jwt.PyJWK({k: jwk[k] for k in _PUBLIC_MEMBERS[str(jwk["kty"])]}, algorithm=alg)
        claims = jwt.decode(proof, key, algorithms=[alg], options={"verify_aud": False, "verify_exp": False, "verify_iat": False, "verify_nbf": False})
    except (jwt.PyJWTError, ValueError, TypeError):
        raise _refuse("the signature does not verify with the jwk in its header") from None
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
