"""Bearer JWT validation for the resource server.

Rules (RFC 8725 §2-3, RFC 9068 §4, RFC 8707, MCP 2026-07-28 Security
Considerations: Token Audience Binding and Validation):
- the algorithm is pinned to what the key declares (or its type's default),
  asymmetric only: never ``none``, never HMAC;
- ``jku``/``x5u``/``x5c`` headers are ignored; a ``crit`` header is refused,
  as we understand no extension (RFC 7515 §4.1.11);
- ``iss`` exact, ``aud`` must contain this resource, ``exp`` required,
  ``nbf``/``iat`` honoured with a small leeway; each of them a number;
- tokens of serve's own development AS carry ``typ`` at+jwt (RFC 9068 §4);
- ``cnf.jkt`` (RFC 9449 §6) is read for the guard, which then wants a proof;
  any other confirmation method (e.g. mTLS) is refused, as it cannot be checked;
- malformed tokens of any shape are TokenRejected, never another exception;
- required scopes missing -> 403 insufficient_scope (the caller decides).
A verified-token cache keyed by the token's SHA-256 skips repeated signature
checks until the token's expiry; revocation at the AS is not seen until then,
which is the same trade every JWT resource server makes.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import jwt

from authkit_mcp_cli import base64url
from authkit_mcp_cli.server.jwks import JwksCache
from authkit_mcp_cli.server.lru import LRUCache

MAX_TOKEN_BYTES = 16 * 1024
DEFAULT_ALG = {"RSA": "RS256", "EC": None, "OKP": "EdDSA"}
EC_ALG = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}
ALLOWED_ALGS = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
WORKOS_USER_MANAGEMENT_ISSUER = "https://api.workos.com/user_management/"


class TokenRejected(Exception):
    """The token is not acceptable; ``description`` goes into error_description."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


@dataclass(frozen=True)
class VerifiedToken:
    token: str
    claims: dict[str, Any]
    scopes: frozenset[str] = field(default_factory=frozenset)
    kid: str | None = None
    # what the guard derives from this verdict (the SDK's user and credentials), kept as long as the verdict
    derived: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def expires_at(self) -> int | None:
        exp = self.claims.get("exp")
        return int(exp) if isinstance(exp, (int, float)) else None

    @property
    def jkt(self) -> str | None:
        """The DPoP key thumbprint the token is bound to (RFC 9449 §6.1), or None."""
        cnf = self.claims.get("cnf")
        return cnf.get("jkt") if isinstance(cnf, dict) else None


def token_scopes(claims: dict[str, Any]) -> frozenset[str]:
    """RFC 9068 §2.2.3 ``scope`` (space separated); ``scp`` arrays are seen too."""
    scope = claims.get("scope")
    if isinstance(scope, str):
        return frozenset(scope.split())
    scp = claims.get("scp")
    if isinstance(scp, list):
        return frozenset(s for s in scp if isinstance(s, str))
    return frozenset()


class TokenValidator:
    def __init__(
        self,
        *,
        issuer: str,
        resource: str,
        jwks: JwksCache,
        leeway: int = 30,
        cache_size: int = 4096,
        revoked: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        self.issuer = issuer
        self.revoked = revoked
        self.resource = resource
        self.jwks = jwks
        self.leeway = leeway
        self._cache: LRUCache[bytes, VerifiedToken] = LRUCache(cache_size)
        # serve's development AS is the resource's own origin; its access tokens are typ at+jwt
        self.own_issuer = resource.startswith(issuer.rstrip("/") + "/")

    async def verify(self, token: str) -> VerifiedToken:
        if len(token) > MAX_TOKEN_BYTES:
            raise TokenRejected(f"token too large ({len(token)} bytes)")
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        cached = self._cache.get(digest)
        if cached is not None:
            self.jwks.refresh_if_stale()
            exp = cached.expires_at
            # a key removed from the JWKS (rotation) also ends the cached verdicts it signed
            if exp is not None and exp + self.leeway > time.time() and self.jwks.has_kid(cached.kid):
                self._check_revoked(cached.claims)
                return cached
            del self._cache[digest]
        verified = await self._verify(token)
        self._cache[digest] = verified
        return verified

    async def _verify(self, token: str) -> VerifiedToken:
        header = _jose_header(token)
        if "crit" in header:
            raise TokenRejected("the token has a 'crit' header with extensions this server does not understand")
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in ALLOWED_ALGS:
            raise TokenRejected(f"algorithm {_short(alg)} is not accepted (asymmetric signatures only)")
        typ = header.get("typ")
        if self.own_issuer and not (isinstance(typ, str) and typ.lower() in ("at+jwt", "application/at+jwt")):
            # RFC 9068 §4: our own AS types its access tokens; an ID token or another JWT it signed is not one
            raise TokenRejected(f"the token's typ is {_short(typ)}, not at+jwt: it is not an access token of this server's authorization server (RFC 9068 §4)")
        _numeric_times(token)
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise TokenRejected("kid is not a string")
        key = await self.jwks.key_for(kid)
        if key is None and not self.jwks.keys and self.jwks.problem:
            raise TokenRejected(f"the authorization server's signing keys could not be fetched ({self.jwks.problem}), so no token can be verified")
        if key is None:
            raise TokenRejected(f"no signing key of the authorization server has kid {_short(kid)}")
        expected = key_algorithm(key)
        if expected is None or alg != expected:
            raise TokenRejected(f"algorithm {alg} does not match the signing key's ({expected})")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[expected],
                options={"require": ["exp", "iss"], "verify_aud": False, "verify_iss": False},
                leeway=self.leeway,
            )
        except jwt.ExpiredSignatureError:
            raise TokenRejected("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenRejected("the token is not valid yet (nbf/iat in the future)") from None
        except jwt.MissingRequiredClaimError as exc:
            raise TokenRejected(f"the token has no {exc.claim!r} claim") from None
        except jwt.PyJWTError as exc:
            raise TokenRejected(f"the signature is invalid ({type(exc).__name__})") from None
        except (ValueError, TypeError, OverflowError, RecursionError):
            raise TokenRejected("the token's claims cannot be read") from None
        _refuse_duplicate_members(token)
        self._check_claims(claims)
        self._check_revoked(claims)
        return VerifiedToken(token=token, claims=claims, scopes=token_scopes(claims), kid=kid)

    def _check_revoked(self, claims: dict[str, Any]) -> None:
        if self.revoked is not None and self.revoked(claims):
            raise TokenRejected("the token has been revoked")

    def _check_claims(self, claims: dict[str, Any]) -> None:
        iss = claims.get("iss")
        if isinstance(iss, str) and iss.startswith(WORKOS_USER_MANAGEMENT_ISSUER):
            raise TokenRejected(
                "this is a WorkOS User Management access token, not an AuthKit MCP token; "
                f"obtain the token through AuthKit's OAuth flow ({self.issuer}) with resource={self.resource}"
            )
        if iss != self.issuer:
            raise TokenRejected(f"issuer {iss!r} is not this server's authorization server ({self.issuer})")
        cnf = claims.get("cnf")
        if cnf is not None:
            jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
            if not isinstance(jkt, str) or not jkt:
                # RFC 7800 §3.1: only a DPoP key thumbprint can be checked here (no mTLS, RFC 8705)
                raise TokenRejected("the token's cnf claim binds it by a method this server cannot check (only cnf.jkt, RFC 9449 §6)")
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if self.resource not in audiences:
            # AuthKit's dashboard step only when the AS is AuthKit (recognised by its host, never guessed)
            authkit = (urlsplit(self.issuer).hostname or "").endswith(".authkit.app")
            raise TokenRejected(
                f"the token's audience {aud!r} is not this resource ({self.resource}); request it with resource={self.resource}"
                + (" (AuthKit: add this URL as an MCP Resource Indicator in the WorkOS dashboard)" if authkit else "")
            )


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    names = [k for k, _ in pairs]
    dupes = sorted({k for k in names if names.count(k) > 1})
    if dupes:
        raise TokenRejected(f"the token repeats {', '.join(dupes)}: duplicate members are ambiguous (RFC 7519 §4, RFC 7515 §5.2)")
    return dict(pairs)


def _refuse_duplicate_members(token: str) -> None:
    """Parsers disagree on duplicate JSON members (first or last wins); refuse them outright."""
    for segment in token.split(".")[:2]:
        try:
            json.loads(base64url.decode(segment), object_pairs_hook=_no_duplicates)
        except (ValueError, RecursionError):
            raise TokenRejected("the token is not base64url JSON") from None


def _numeric_times(token: str) -> None:
    """RFC 7519 §4.1.4-6: exp, nbf and iat are NumericDates; a string, a bool or an infinity is refused
    before any library compares it (issue 14: a non-numeric exp must not pass or crash)."""
    try:
        claims = json.loads(base64url.decode(token.split(".")[1]))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise TokenRejected("the token's claims are not base64url JSON") from None
    if not isinstance(claims, dict):
        raise TokenRejected("the token's claims are not a JSON object")
    for name in ("exp", "nbf", "iat"):
        value = claims.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or abs(value) > 1e13):
            raise TokenRejected(f"the token's {name} claim is not a number of seconds (RFC 7519 §2 NumericDate)")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _jose_header(token: str) -> dict[str, Any]:
    """The JOSE header, read by hand: pyjwt's reader rejects some headers with a vaguer error."""
    segments = token.split(".")
    if len(segments) != 3:
        raise TokenRejected("the token is not a JWT (a JWS in compact form has three segments)")
    try:
        header = json.loads(base64url.decode(segments[0]))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise TokenRejected("the token is not a JWT (its header is not base64url JSON)") from None
    if not isinstance(header, dict):
        raise TokenRejected("the token is not a JWT (its header is not a JSON object)")
    return header


def key_algorithm(key: jwt.PyJWK) -> str | None:
    """The one algorithm a key may verify: its declared ``alg`` or its type's default."""
    declared = key._jwk_data.get("alg")  # noqa: SLF001 - PyJWK keeps the JWK
    if declared:
        return declared if declared in ALLOWED_ALGS else None
    kty = key._jwk_data.get("kty")  # noqa: SLF001
    if kty == "EC":
        return EC_ALG.get(key._jwk_data.get("crv", ""))  # noqa: SLF001
    return DEFAULT_ALG.get(kty) if isinstance(kty, str) else None
