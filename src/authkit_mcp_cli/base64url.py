"""base64url without padding (RFC 4648 §5; RFC 7515 §2, Appendix C), once: JWS segments and JWK
members, PKCE's S256 challenge (RFC 7636 §4.2), DPoP's ``ath`` and key thumbprints (RFC 9449 §4.2,
RFC 7638 §3)."""

from __future__ import annotations

import base64

__all__ = ["decode", "encode"]


def encode(data: bytes) -> str:
    """``data`` as base64url text without ``=`` padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode(text: str, *, strict: bool = False) -> bytes:
    """The bytes of base64url ``text`` (padding optional). ``strict``: a character outside the alphabet
    raises ``ValueError`` (``binascii.Error``) instead of being skipped, as key material needs."""
    padded = text + "=" * (-len(text) % 4)
    if strict:
        return base64.b64decode(padded, altchars=b"-_", validate=True)
    return base64.urlsafe_b64decode(padded)
