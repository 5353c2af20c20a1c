"""DPoP (RFC 9449): a key per login and the proofs made with it, as pure
functions (the clock and the jti can be handed in, so tests need no sleeping).

- :class:`DpopKey`  an ES256 (P-256) key; its private JWK is stored with the tokens (0600)
- :func:`proof`     a ``dpop+jwt`` proof (§4.2): ``htm``, ``htu`` (no query or fragment),
                    ``iat``, ``jti``, ``ath`` on resource requests (§7.1), ``nonce`` (§8, §9)
- :func:`nonce_from` the nonce a server asks for: ``use_dpop_nonce`` with a ``DPoP-Nonce`` header
- :class:`DpopHandle` one key and the latest nonce of each origin (oauth4webapi's DPoPHandle): the
                    token request and the MCP request both make their proofs and their one nonce
                    retry through it (§8 at the AS, §9 at the resource server)
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from authkit_mcp_cli import base64url
from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import UsageError

ALG = "ES256"
SPEC = "RFC 9449"




def _b64url_int(value: int) -> str:
    return base64url.encode(value.to_bytes(32, "big"))


@dataclass(frozen=True)
class DpopKey:
    """An ES256 key pair; ``private_jwk`` holds ``d`` and is a secret (stored 0600, never traced)."""

    private_jwk: dict[str, str]

    @classmethod
    def generate(cls) -> DpopKey:
        key = ec.generate_private_key(ec.SECP256R1())
        numbers = key.private_numbers()
        pub = numbers.public_numbers
        return cls({"kty": "EC", "crv": "P-256", "x": _b64url_int(pub.x), "y": _b64url_int(pub.y), "d": _b64url_int(numbers.private_value)})

    @property
    def public_jwk(self) -> dict[str, str]:
        """What goes in every proof's header (§4.2: never the private part)."""
        return {k: self.private_jwk[k] for k in ("kty", "crv", "x", "y")}

    def thumbprint(self) -> str:
        """The JWK SHA-256 thumbprint (RFC 7638), the ``jkt`` a bound token's ``cnf`` names (§6.1)."""
        canonical = json.dumps(self.public_jwk, sort_keys=True, separators=(",", ":"))
        return base64url.encode(hashlib.sha256(canonical.encode("ascii")).digest())

    def private_key(self) -> ec.EllipticCurvePrivateKey:
        def num(name: str) -> int:
            return int.from_bytes(base64url.decode(self.private_jwk[name]), "big")

        public = ec.EllipticCurvePublicNumbers(num("x"), num("y"), ec.SECP256R1())
        return ec.EllipticCurvePrivateNumbers(num("d"), public).private_key()

    def to_json(self) -> dict[str, str]:
        return dict(self.private_jwk)

    @classmethod
    def from_json(cls, data: Any) -> DpopKey:
        if not isinstance(data, dict) or data.get("kty") != "EC" or data.get("crv") != "P-256" or not all(isinstance(data.get(k), str) for k in ("x", "y", "d")):
            raise UsageError("The stored DPoP key is not an EC P-256 private JWK.", code=ErrorCode.LOGIN_CORRUPT_RECORD, hint="Run atoms-auth login --dpop again.")
        return cls({k: data[k] for k in ("kty", "crv", "x", "y", "d")})


# RFC 7638 §3.2: the required members of each key type, the only ones hashed
THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}


def jwk_thumbprint(jwk: dict[str, Any]) -> str | None:
    """The JWK SHA-256 thumbprint of any public key (RFC 7638 §3), or None when a member it needs is missing."""
    members = THUMBPRINT_MEMBERS.get(str(jwk.get("kty")))
    if members is None or not all(isinstance(jwk.get(m), str) for m in members):
        return None
    canonical = json.dumps({m: jwk[m] for m in members}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return base64url.encode(hashlib.sha256(canonical.encode("utf-8")).digest())


def htu(url: str) -> str:
    """The request URI without query and fragment (RFC 9449 §4.2)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def ath(access_token: str) -> str:
    """base64url(SHA-256(access token)) (RFC 9449 §4.2, §7.1)."""
    return base64url.encode(hashlib.sha256(access_token.encode("ascii")).digest())


def proof(key: DpopKey, method: str, url: str, *, access_token: str | None = None, nonce: str | None = None, now: float | None = None, jti: str | None = None) -> str:
    """A fresh DPoP proof JWT for one request (RFC 9449 §4.2)."""
    claims: dict[str, Any] = {
        "jti": jti or secrets.token_urlsafe(24),
        "htm": method.upper(),
        "htu": htu(url),
        "iat": int(time.time() if now is None else now),
    }
    if access_token is not None:
        claims["ath"] = ath(access_token)
    if nonce is not None:
        claims["nonce"] = nonce
    return jwt.encode(claims, key.private_key(), algorithm=ALG, headers={"typ": "dpop+jwt", "jwk": key.public_jwk})


def nonce_from(status: int, body: bytes, dpop_nonce: str | None, *, www_authenticate_error: str | None = None) -> str | None:
    """The nonce to retry with, when the server asked for one: at the AS a 400 ``use_dpop_nonce`` body
    (§8), at the RS a 401 ``DPoP error="use_dpop_nonce"`` challenge (§9), with the ``DPoP-Nonce`` header."""
    if not dpop_nonce:
        return None
    if status == 401 and www_authenticate_error == "use_dpop_nonce":
        return dpop_nonce
    if status == 400:
        try:
            data = json.loads(body)
        except ValueError:
            return None
        if isinstance(data, dict) and data.get("error") == "use_dpop_nonce":
            return dpop_nonce
    return None


class DpopHandle:
    """A login's DPoP key and the nonce each server last gave (RFC 9449 §8, §9), keyed by origin: a
    server's nonce goes only into proofs for that server. One handle per key in a process
    (:meth:`for_key`), so a nonce learnt by one request saves the next one its retry."""

    _by_thumbprint: dict[str, DpopHandle] = {}

    def __init__(self, key: DpopKey) -> None:
        self.key = key
        self._nonces: dict[str, str] = {}

    @classmethod
    def for_key(cls, key: DpopKey) -> DpopHandle:
        thumbprint = key.thumbprint()
        handle = cls._by_thumbprint.get(thumbprint)
        if handle is None:
            handle = cls._by_thumbprint[thumbprint] = cls(key)
        return handle

    def proof(self, method: str, url: str, *, access_token: str | None = None) -> str:
        """A fresh proof for one request, carrying this server's latest nonce when it gave one."""
        return proof(self.key, method, url, access_token=access_token, nonce=self._nonces.get(_origin(url)))

    def retry_with_nonce(self, url: str, status: int, body: bytes, dpop_nonce: str | None, *, www_authenticate_error: str | None = None) -> bool:
        """Keep the server's ``DPoP-Nonce``; True when it refused the proof for want of that nonce, a
        new one (the one retry RFC 9449 §8 and §9 describe: a proof with the same nonce would fail again)."""
        asked = nonce_from(status, body, dpop_nonce, www_authenticate_error=www_authenticate_error)
        known = self._nonces.get(_origin(url))
        if dpop_nonce:
            self._nonces[_origin(url)] = dpop_nonce
        return asked is not None and asked != known


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def check_algs(metadata: dict[str, Any]) -> str | None:
    """A problem with the AS's ``dpop_signing_alg_values_supported`` (RFC 9449 §5.1), else None: refused when it omits ES256."""
    algs = metadata.get("dpop_signing_alg_values_supported")
    if algs is None:
        return "the AS does not advertise dpop_signing_alg_values_supported (RFC 9449 §5.1); sending proofs anyway"
    if isinstance(algs, list) and ALG not in algs:
        raise UsageError(
            f"The authorization server accepts DPoP proofs signed with {', '.join(map(str, algs)) or 'nothing'}, not {ALG}.",
            code=ErrorCode.USAGE_DPOP_ALG_UNSUPPORTED,
            hint="atoms-auth signs DPoP proofs with ES256; log in without --dpop.",
            spec="RFC 9449 §5.1",
        )
    return None
