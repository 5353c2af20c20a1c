"""PKCE (RFC 7636), once: the client makes the verifier and challenge, the
local AS checks them with the same :func:`s256`."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from authkit_mcp_cli import base64url


def s256(verifier: str) -> str:
    """BASE64URL(SHA256(verifier)) without padding (RFC 7636 §4.2, §4.6)."""
    # UTF-8 is ASCII for every valid verifier (§4.1) and, unlike a lossy ASCII encoding,
    # maps no two different strings to one challenge when the AS is handed junk.
    return base64url.encode(hashlib.sha256(verifier.encode("utf-8")).digest())


@dataclass(frozen=True)
class Pkce:
    """A code verifier and its S256 challenge (RFC 7636 §4.1, §4.2)."""

    verifier: str
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        """A fresh high-entropy verifier of 96 unreserved characters (RFC 7636 §4.1, §7.1)."""
        verifier = secrets.token_urlsafe(72)[:96]
        return cls(verifier, s256(verifier))
