"""JWTs as OAuth credentials (RFC 7523): the client assertion a client signs
to authenticate at the token endpoint (``private_key_jwt``, §2.2, with the
claims of §3), and reading an assertion handed to us (§2.1: a workload's
OIDC token, an ID-JAG) to show what it claims, unverified.

Pure functions over keys and claims; the one file read is
:func:`load_private_key` (the PEM a client registration names)."""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import UsageError

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"  # RFC 7523 §2.2
ASSERTION_LIFETIME = 60  # seconds: RFC 7523 §3 item 4 wants a short exp; one request needs one minute at most
SPEC_CLIENT_ASSERTION = "RFC 7523 §2.2, §3"

# the default JWS algorithm for a key type (RFC 7518 §3.1; RFC 8037 §3.1)
_EC_ALGS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
_ALGS_FOR_KEY = {"rsa": ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"), "okp": ("EdDSA",)}

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey


def load_private_key(path: str) -> PrivateKey:
    """The unencrypted PEM private key at ``path`` (PKCS#8 or traditional); a usage error otherwise."""
    try:
        data = Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise UsageError(f"--private-key {path}: {exc.strerror or exc}.", code=ErrorCode.USAGE_PRIVATE_KEY, hint="Pass the PEM file of the key registered for this client.") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"--private-key {path} is not an unencrypted PEM private key ({exc}).", code=ErrorCode.USAGE_PRIVATE_KEY, hint="Convert it with: openssl pkcs8 -topk8 -nocrypt -in KEY -out key.pem") from None
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)):
        raise UsageError(f"--private-key {path} is a {type(key).__name__}; private_key_jwt needs an RSA, EC or Ed25519/Ed448 key.", code=ErrorCode.USAGE_PRIVATE_KEY)
    return key


def signing_alg_for(key: PrivateKey, requested: str | None = None) -> str:
    """``requested`` when it suits the key, else the key type's default (RS256, ES256/384/512, EdDSA)."""
    if isinstance(key, rsa.RSAPrivateKey):
        allowed: tuple[str, ...] = _ALGS_FOR_KEY["rsa"]
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        alg = _EC_ALGS.get(key.curve.name)
        if alg is None:
            raise UsageError(f"The EC key's curve {key.curve.name} has no JWS algorithm (P-256, P-384, P-521 do).", code=ErrorCode.USAGE_PRIVATE_KEY, spec="RFC 7518 §3.4")
        allowed = (alg,)
    else:
        allowed = _ALGS_FOR_KEY["okp"]
    if requested is None:
        return allowed[0]
    if requested not in allowed:
        raise UsageError(f"--signing-alg {requested} does not fit the key (it can sign with {', '.join(allowed)}).", code=ErrorCode.USAGE_SIGNING_ALG, spec="RFC 7518 §3.1")
    return requested


def client_assertion_claims(client_id: str, audience: str, *, now: float | None = None, lifetime: int = ASSERTION_LIFETIME, jti: str | None = None) -> dict[str, Any]:
    """The claims of a client authentication JWT (RFC 7523 §3): ``iss`` = ``sub`` = the client id
    (§3 items 1-2, §2.2), ``aud`` the AS (item 3), a short ``exp`` (item 4), ``iat`` (item 6) and a
    one-time ``jti`` (item 7)."""
    issued = int(now if now is not None else time.time())
    return {"iss": client_id, "sub": client_id, "aud": audience, "iat": issued, "exp": issued + lifetime, "jti": jti or secrets.token_urlsafe(24)}


def sign(claims: dict[str, Any], key: PrivateKey, alg: str, key_id: str | None = None) -> str:
    """A compact JWS of ``claims`` (``typ`` JWT; ``kid`` when given, so the AS picks the key from the client's JWKS)."""
    headers: dict[str, Any] = {"typ": "JWT"}
    if key_id:
        headers["kid"] = key_id
    return jwt.encode(claims, key, algorithm=alg, headers=headers)


def client_assertion(client_id: str, audience: str, key: PrivateKey, alg: str, key_id: str | None = None, *, now: float | None = None) -> str:
    """A fresh signed client assertion (RFC 7523 §2.2, §3)."""
    return sign(client_assertion_claims(client_id, audience, now=now), key, alg, key_id)


def assertion_form(assertion: str) -> dict[str, str]:
    """The two form fields that carry a client assertion (RFC 7523 §2.2; RFC 7521 §4.2)."""
    return {"client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": assertion}


def read_claims(token: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(header, claims) of a JWT, unverified (to show what an assertion says), or None when it is not a JWT."""
    try:
        return jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None


def describe_claims(token: str, *, now: float | None = None) -> str:
    """One line of evidence about a JWT: issuer, subject, audience, expiry (never the token itself)."""
    read = read_claims(token)
    if read is None:
        return "not a JWT (sent as given)"
    header, claims = read
    parts = [f"{name} {claims[name]!r}" for name in ("iss", "sub", "aud", "client_id", "resource") if name in claims]
    if header.get("typ"):
        parts.insert(0, f"typ {header['typ']}")
    exp = claims.get("exp")
    if isinstance(exp, (int, float)) and not isinstance(exp, bool):
        left = int(exp - (now if now is not None else time.time()))
        parts.append(f"expires in {left}s" if left > 0 else f"EXPIRED {-left}s ago")
    return ", ".join(parts) or "a JWT with none of iss, sub, aud, exp"
