"""Public JSON Web Keys (RFC 7517) as cryptography keys, without pyjwt.

doctor loads the AS's published keys (as.jwks: can each verify signatures?) and
keys HMAC with one (the HS256 confusion forgery); importing pyjwt for that cost
about 4 MB and its import time (issue 16 item 4). RSA (RFC 7518 §6.3), EC
(§6.2) and OKP (RFC 8037 §2) public keys; anything else is refused with the
reason.
"""

from __future__ import annotations

import binascii
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from authkit_mcp_cli import base64url

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey

# JWS algorithms each key type can verify (RFC 7518 §3.1, RFC 8037 §3.1)
SIGNING_ALGS = {
    "RSA": {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"},
    "EC": {"ES256", "ES256K", "ES384", "ES512"},
    "OKP": {"EdDSA", "Ed25519", "Ed448"},
}
# crv -> (curve, coordinate length in bytes, RFC 7518 §6.2.1.2)
CURVES: dict[str, tuple[type[ec.EllipticCurve], int]] = {"P-256": (ec.SECP256R1, 32), "P-384": (ec.SECP384R1, 48), "P-521": (ec.SECP521R1, 66), "secp256k1": (ec.SECP256K1, 32)}
OKP_CURVES: dict[str, Any] = {"Ed25519": ed25519.Ed25519PublicKey, "Ed448": ed448.Ed448PublicKey}


def _bytes(jwk: dict[str, Any], name: str) -> bytes:
    value = jwk.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} is missing")
    try:
        return base64url.decode(value, strict=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{name} is not base64url") from None


def load_public(jwk: dict[str, Any]) -> PublicKey:
    """The public key ``jwk`` describes; ValueError saying why it cannot be loaded."""
    kty = jwk.get("kty")
    if kty not in SIGNING_ALGS:
        raise ValueError(f"unknown key type {kty!r}")
    alg = jwk.get("alg")
    if alg is not None and alg not in SIGNING_ALGS[kty]:
        raise ValueError(f"alg {alg!r} is not a signature algorithm for a {kty} key")
    try:
        if kty == "RSA":
            return rsa.RSAPublicNumbers(int.from_bytes(_bytes(jwk, "e"), "big"), int.from_bytes(_bytes(jwk, "n"), "big")).public_key()
        if kty == "EC":
            crv = jwk.get("crv")
            if crv not in CURVES:
                raise ValueError(f"unknown curve {crv!r}")
            curve, size = CURVES[crv]
            x, y = _bytes(jwk, "x"), _bytes(jwk, "y")
            if len(x) != size or len(y) != size:
                raise ValueError(f"coordinates should be {size} bytes for curve {crv}")
            return ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"), curve()).public_key()
        crv = jwk.get("crv")
        if crv not in OKP_CURVES:
            raise ValueError(f"unknown curve {crv!r}")
        key: PublicKey = OKP_CURVES[crv].from_public_bytes(_bytes(jwk, "x"))
        return key
    except ValueError as exc:  # cryptography's own: not on the curve, a bad modulus
        raise ValueError(str(exc) or type(exc).__name__) from None


def public_pem(jwk: dict[str, Any]) -> bytes:
    """The key as PEM SubjectPublicKeyInfo (RFC 5280 §4.1.2.7); ValueError when it cannot be loaded."""
    return load_public(jwk).public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
