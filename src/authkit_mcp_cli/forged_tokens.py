"""Tokens a correct resource server must reject (doctor's
``server.rejects-forged-tokens``; MCP Security Considerations: Token Audience
Binding and Validation).

Each token carries the right issuer, audience and scopes, so only a server
that really verifies signatures and expiry refuses it. They are built by hand
(RFC 7515 compact serialisation) because pyjwt (rightly) refuses to make some
of them; nor is pyjwt imported: cryptography alone signs them, which keeps
doctor's memory and start-up small (issue 16 item 4).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from authkit_mcp_cli import base64url

if TYPE_CHECKING:
    from authkit_mcp_cli.checks.evidence import ASDiscovery, Evidence


def _segment(obj: dict[str, Any]) -> str:
    return base64url.encode(json.dumps(obj, separators=(",", ":")).encode())


def claims_for(issuer: str, audience: str, scopes: list[str], *, expired: bool = False) -> dict[str, Any]:
    now = int(time.time())
    exp = now - 3600 if expired else now + 600
    return {
        "iss": issuer,
        "aud": audience,
        "sub": "atoms-auth-doctor-probe",
        "client_id": "atoms-auth-doctor",
        "scope": " ".join(scopes),
        "iat": exp - 900,
        "nbf": exp - 900,
        "exp": exp,
        "jti": base64url.encode(hashlib.sha256(str(time.time_ns()).encode()).digest()[:12]),
    }


def alg_none(claims: dict[str, Any]) -> str:
    return f"{_segment({'alg': 'none', 'typ': 'JWT'})}.{_segment(claims)}."


def hs256_with_public_key(claims: dict[str, Any], public_jwk: dict[str, Any]) -> str | None:
    """The classic algorithm-confusion attack: HMAC keyed with the AS's public key (PEM)."""
    pem = public_key_pem(public_jwk)
    if pem is None:
        return None
    header = {"alg": "HS256", "typ": "JWT"}
    if public_jwk.get("kid"):
        header["kid"] = public_jwk["kid"]
    signing_input = f"{_segment(header)}.{_segment(claims)}"
    sig = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64url.encode(sig)}"


def fresh_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def foreign_key(claims: dict[str, Any], kid: str | None, key: rsa.RSAPrivateKey) -> str:
    """RS256 (RFC 7518 §3.3), signed by ``key``, a stranger's, under the AS's ``kid``."""
    header = {"alg": "RS256", "typ": "JWT", **({"kid": kid} if kid else {})}
    signing_input = f"{_segment(header)}.{_segment(claims)}"
    return f"{signing_input}.{base64url.encode(key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()))}"


def first_signing_key(jwks: dict[str, Any] | None) -> dict[str, Any] | None:
    """The JWK Set's first key meant for signatures (RFC 7517 §4.2, §5), whose kid the forgeries borrow."""
    keys = jwks.get("keys") if jwks else None
    if not isinstance(keys, list):
        return None
    for key in keys:
        if isinstance(key, dict) and key.get("use", "sig") == "sig" and key.get("kty") in ("RSA", "EC", "OKP"):
            return key
    return None


def probe_set(issuer: str, audience: str, scopes: list[str], jwk: dict[str, Any] | None, stranger: rsa.RSAPrivateKey | None = None) -> dict[str, str]:
    """doctor's forgeries by name: alg none, a stranger's key under the AS's kid,
    HS256 keyed with the AS's public key (when ``jwk`` allows), expired (RFC 8725 §2-3).

    Without ``stranger`` it makes one fresh RSA key, so call it only when a check needs these tokens.
    """
    claims = claims_for(issuer, audience, scopes)
    stranger = stranger or fresh_key()
    kid = jwk.get("kid") if jwk else None
    tokens = {"alg-none": alg_none(claims), "foreign-key": foreign_key(claims, kid, stranger)}
    hs = hs256_with_public_key(claims, jwk) if jwk else None
    if hs:
        tokens["hs256-public-key"] = hs
    tokens["expired"] = foreign_key(claims_for(issuer, audience, scopes, expired=True), kid, stranger)
    return tokens


def public_key_pem(jwk: dict[str, Any]) -> bytes | None:
    """The JWK's public key as PEM (SubjectPublicKeyInfo), the bytes a confused verifier keys HMAC with."""
    from authkit_mcp_cli.jwk import public_pem

    try:
        return public_pem(jwk)
    except (ValueError, TypeError):  # a JWK that does not load: the HS256 probe is then not built
        return None


def for_evidence(ev: Evidence, discovery: ASDiscovery | None, server: str, stranger: rsa.RSAPrivateKey | None = None) -> dict[str, str]:
    """doctor's forgeries with the real issuer, audience, scopes and kid, so only verification can refuse them."""
    from authkit_mcp_cli.discovery import usable_document
    from authkit_mcp_cli.urls import origin

    issuer = ev.as_issuer or origin(server)
    if discovery and discovery.metadata and isinstance(discovery.metadata.get("issuer"), str):
        issuer = discovery.metadata["issuer"]
    prm = ev.prm_doc or {}
    resource = prm["resource"] if isinstance(prm.get("resource"), str) else server
    scopes_supported = prm.get("scopes_supported")
    scopes = [s for s in scopes_supported if isinstance(s, str)] if isinstance(scopes_supported, list) else []
    challenge_scope = ev.challenges.scope
    if challenge_scope:
        scopes = challenge_scope.split()
    jwks_doc = usable_document(discovery.jwks)[0] if discovery and discovery.jwks else None
    return probe_set(issuer, resource, scopes, first_signing_key(jwks_doc), stranger)
