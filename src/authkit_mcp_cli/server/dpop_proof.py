"""DPoP proofs at the server (RFC 9449 §4.3, §7.1, §9, §11.1): one checker,
:class:`ProofChecker`, with two profiles.

- The resource (``ProofChecker.for_resource``): ``htu`` is the configured
  public resource URL (never the request's ``Host``), ``ath`` is required and
  the key must be the one the token names in ``cnf.jkt`` (§4.3 checks 10-12).
- The token endpoint (``ProofChecker.for_token_endpoint``, the development
  AS): ``htu`` is the token endpoint's URL; no token exists yet, so no ``ath``
  and no key to match; the answer is the key's thumbprint to bind to (§5).

Both check one ``DPoP`` header in §4.3's order: a single well-formed JWT;
``typ`` dpop+jwt; an asymmetric ``alg`` from :data:`ALGS` matching the key; a
public ``jwk`` (no private members); the signature; ``htm`` = the method;
``htu`` under one normalisation rule (query and fragment ignored, RFC 3986
§6.2.2/§6.2.3); ``iat`` within :data:`IAT_WINDOW` seconds either way; the
``jti`` not used before while the proof could be accepted; a server nonce
when asked for (§9).

Replays and nonce keys live in a :class:`~authkit_mcp_cli.server.dpop_store.ReplayStore`
(in memory per process, or Redis shared by workers and instances); a proof
is keyed on (key thumbprint, ``jti``, ``htu``) and remembered until its
``iat`` leaves the window. Nonces are an HMAC of a time bucket under the
store's nonce key, valid for the current and the previous bucket.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import jwt

from authkit_mcp_cli import base64url
from authkit_mcp_cli.oauth.dpop import ath as ath_of
from authkit_mcp_cli.oauth.dpop import jwk_thumbprint
from authkit_mcp_cli.server.dpop_store import MemoryReplayStore, ReplayStore, StoreFull

# RFC 9449 §4.3 check 5: asymmetric, never none, never a MAC
ALGS = ("ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "RS256", "RS384", "RS512", "EdDSA")
EC_CURVE = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
MAX_PROOF_BYTES = 8 * 1024
MAX_JTI_CHARS = 256
IAT_WINDOW = 60  # seconds either side of the server's clock a proof's iat may lie (§11.1)
CLOCK_MARGIN = 1  # a second more in the replay store than the window, for rounding
NONCE_TTL = 300  # seconds in a nonce bucket
NONCE_ENV = "ATOMS_AUTH_SERVE_DPOP_NONCE"
DEFAULT_PORTS = {"http": 80, "https": 443}
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


class ProofRejected(Exception):
    """The DPoP proof is not acceptable: ``error`` is invalid_dpop_proof or use_dpop_nonce (§7.1, §9)."""

    def __init__(self, description: str, *, error: str = "invalid_dpop_proof") -> None:
        super().__init__(description)
        self.description = description
        self.error = error


def nonce_required_from_env(env: dict[str, str] | None = None) -> bool:
    value = (os.environ if env is None else env).get(NONCE_ENV, "")
    return value.strip().lower() in ("1", "true", "yes", "on")


def normalise_url(url: str) -> str | None:
    """Scheme and host lower case, the default port dropped, an empty path as ``/``, no query or
    fragment, unreserved characters percent-decoded and escapes upper case (RFC 9449 §4.3; RFC 3986 §6.2.2, §6.2.3)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname or parts.username is not None or parts.password is not None:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    return urlunsplit((scheme, host, _normalise_escapes(parts.path) or "/", "", ""))


def _normalise_escapes(path: str) -> str:
    out, i = [], 0
    while i < len(path):
        if path[i] == "%" and _is_hex(path[i + 1 : i + 3]):
            char = chr(int(path[i + 1 : i + 3], 16))
            out.append(char if char.isascii() and (char.isalnum() or char in "-._~") else "%" + path[i + 1 : i + 3].upper())
            i += 3
        else:
            out.append(path[i])
            i += 1
    return "".join(out)


def _is_hex(text: str) -> bool:
    return len(text) == 2 and all(c in "0123456789abcdefABCDEF" for c in text)


def accepted_htus(resource: str) -> frozenset[str]:
    """The resource URL, and on a loopback origin its other loopback spellings (the same listener)."""
    base = normalise_url(resource)
    if base is None:
        return frozenset()
    parts = urlsplit(base)
    urls = {base}
    if parts.hostname in ("127.0.0.1", "localhost", "::1") and parts.port is not None:
        urls.update(urlunsplit((parts.scheme, f"{name}:{parts.port}", parts.path, "", "")) for name in LOOPBACK_NAMES)
    return frozenset(urls)


@dataclass(frozen=True)
class Accepted:
    """A proof that passed every check but the replay and nonce ones."""

    jkt: str  # the proof key's RFC 7638 thumbprint
    replay_key: str  # (thumbprint, jti, htu), hashed
    ttl: int  # seconds until its iat leaves the window
    nonce: Any


class ProofChecker:
    """One checker, two profiles (see the module docstring); build it with a ``for_`` constructor."""

    def __init__(self, htu: str, *, token_endpoint: bool = False, store: ReplayStore | None = None, window: int = IAT_WINDOW, require_nonce: bool | None = None, nonce_ttl: int = NONCE_TTL) -> None:
        self.htus = accepted_htus(htu)
        self.token_endpoint = token_endpoint
        self.where = "this token endpoint" if token_endpoint else "this resource"
        self.store: ReplayStore = store if store is not None else MemoryReplayStore()
        self.window = window
        self.require_nonce = (False if token_endpoint else nonce_required_from_env()) if require_nonce is None else require_nonce
        self.nonce_ttl = nonce_ttl

    @classmethod
    def for_resource(cls, resource: str, **options: Any) -> ProofChecker:
        """Proofs sent with a bound access token to ``resource``, the configured public URL (§7.1)."""
        return cls(resource, **options)

    @classmethod
    def for_token_endpoint(cls, token_endpoint: str, **options: Any) -> ProofChecker:
        """Proofs sent to the token endpoint to bind the tokens it issues (§5)."""
        return cls(token_endpoint, token_endpoint=True, **options)

    @property
    def algs(self) -> str:
        return " ".join(ALGS)

    async def nonce(self, now: float | None = None) -> str:
        """A fresh server nonce (RFC 9449 §9): valid for this bucket of ``nonce_ttl`` seconds and the next.
        Raises StoreUnavailable when the shared store holding the nonce key cannot be reached."""
        return self._nonce_for(await self.store.nonce_key(), int((time.time() if now is None else now) // self.nonce_ttl))

    def _nonce_for(self, secret: bytes, bucket: int) -> str:
        raw = bucket.to_bytes(8, "big")
        return base64url.encode(raw + hmac.new(secret, raw, hashlib.sha256).digest()[:16])

    def _nonce_ok(self, secret: bytes, nonce: Any, now: float) -> bool:
        if not isinstance(nonce, str) or len(nonce) > 64:
            return False
        bucket = int(now // self.nonce_ttl)
        return any(hmac.compare_digest(nonce, self._nonce_for(secret, b)) for b in (bucket, bucket - 1))

    async def check(self, proofs: list[str], *, method: str, access_token: str | None = None, jkt: str | None = None, now: float | None = None) -> str:
        """Accept the request's ``DPoP`` header values (the resource: for ``access_token`` bound to ``jkt``)
        and give the proof key's thumbprint; else raise ProofRejected, or StoreUnavailable when the shared
        store cannot say whether the proof was used before (the caller refuses the request: fail closed)."""
        now = time.time() if now is None else now
        accepted = self.verify(proofs, method=method, access_token=access_token, jkt=jkt, now=now)
        if self.require_nonce and not self._nonce_ok(await self.store.nonce_key(), accepted.nonce, now):
            raise ProofRejected(f"{self.where} requires a nonce in the DPoP proof (RFC 9449 §9)", error="use_dpop_nonce")
        try:
            first = await self.store.first_use(accepted.replay_key, ttl=accepted.ttl, now=now)
        except StoreFull:
            raise ProofRejected(FULL) from None
        if not first:
            raise ProofRejected(REPLAYED)
        return accepted.jkt

    def check_now(self, proofs: list[str], *, method: str, access_token: str | None = None, jkt: str | None = None, now: float | None = None) -> str:
        """:meth:`check` for synchronous callers (the development AS's token endpoint) on an in-memory store."""
        store = self.store
        if not isinstance(store, MemoryReplayStore):
            raise TypeError("check_now needs the in-memory store; use check")
        now = time.time() if now is None else now
        accepted = self.verify(proofs, method=method, access_token=access_token, jkt=jkt, now=now)
        if self.require_nonce and not self._nonce_ok(store.nonce_key_now(), accepted.nonce, now):
            raise ProofRejected(f"{self.where} requires a nonce in the DPoP proof (RFC 9449 §9)", error="use_dpop_nonce")
        try:
            first = store.claim(accepted.replay_key, ttl=accepted.ttl, now=now)
        except StoreFull:
            raise ProofRejected(FULL) from None
        if not first:
            raise ProofRejected(REPLAYED)
        return accepted.jkt

    def verify(self, proofs: list[str], *, method: str, access_token: str | None, jkt: str | None, now: float) -> Accepted:
        """Every check that needs no state (§4.3 checks 1-12 but the nonce and the jti's first use)."""
        if not proofs:
            raise ProofRejected("the request has no DPoP header: a DPoP-bound token needs a fresh proof on every request (RFC 9449 §7.1)")
        if len(proofs) > 1:
            raise ProofRejected("more than one DPoP header (RFC 9449 §4.3)")
        claims, jwk = verified_proof(proofs[0].strip())
        thumbprint = jwk_thumbprint(jwk)
        if thumbprint is None:
            raise ProofRejected("the proof's jwk lacks a member its thumbprint needs (RFC 7638 §3.2)")
        if not self.token_endpoint and (jkt is None or not hmac.compare_digest(thumbprint, jkt)):
            raise ProofRejected("the proof's key is not the key the token is bound to (its thumbprint differs from cnf.jkt, RFC 9449 §6.1)")
        htu = self._check_claims(claims, method=method, access_token=access_token, now=now)
        key = hashlib.sha256("\x00".join((thumbprint, claims["jti"], htu)).encode("utf-8", "surrogatepass")).hexdigest()
        # §11.1: remembered for as long as this proof could be accepted, its iat inside the window
        ttl = max(1, math.ceil(claims["iat"] + self.window + CLOCK_MARGIN - now))
        return Accepted(jkt=thumbprint, replay_key=key, ttl=ttl, nonce=claims.get("nonce"))

    def _check_claims(self, claims: dict[str, Any], *, method: str, access_token: str | None, now: float) -> str:
        for name in ("jti", "htm", "htu"):
            if not isinstance(claims.get(name), str) or not claims[name]:
                raise ProofRejected(f"the proof has no {name} string claim (RFC 9449 §4.2)")
        if len(claims["jti"]) > MAX_JTI_CHARS:
            raise ProofRejected("the proof's jti is too long")
        iat = claims.get("iat")
        if isinstance(iat, bool) or not isinstance(iat, (int, float)) or not math.isfinite(iat):
            raise ProofRejected("the proof has no numeric iat claim (RFC 9449 §4.2)")
        if claims["htm"] != method:
            raise ProofRejected(f"the proof is for method {_short(claims['htm'])}, this request is {method} (htm, RFC 9449 §4.3)")
        htu = normalise_url(claims["htu"])
        if htu is None or htu not in self.htus:
            raise ProofRejected(f"the proof is for {_short(claims['htu'])}, not {self.where} (htu, RFC 9449 §4.3)")
        if iat < now - self.window:
            raise ProofRejected(f"the proof was made {int(now - iat)} s ago; proofs are accepted for {self.window} s (iat, RFC 9449 §11.1)")
        if iat > now + self.window:
            raise ProofRejected(f"the proof's iat is {int(iat - now)} s in the future (RFC 9449 §11.1)")
        if self.token_endpoint:
            return htu  # no access token yet: nothing for ath to hash (§4.2)
        token_hash = claims.get("ath")
        if not isinstance(token_hash, str):
            raise ProofRejected("the proof has no ath claim: with an access token it must carry its hash (RFC 9449 §4.2, §7.1)")
        if access_token is None or not hmac.compare_digest(token_hash.encode("utf-8", "replace"), ath_of(access_token).encode("ascii")):
            raise ProofRejected("the proof's ath is not the hash of this access token (RFC 9449 §4.3)")
        return htu


REPLAYED = "this proof was already used (jti replayed, RFC 9449 §11.1)"
FULL = "this server holds as many recent proofs as it can and refuses new ones until some expire (replay protection, RFC 9449 §11.1); retry in a minute"


def verified_proof(proof: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(claims, jwk) of a DPoP proof whose form, ``typ``, ``alg``, public ``jwk`` and signature are right
    (RFC 9449 §4.3 checks 1-7), else ProofRejected. What the claims must say depends on where the proof
    is presented (the resource server: ``ath`` and ``cnf.jkt``; the token endpoint: none yet), so they
    are the caller's to check. Shared by :class:`ProofChecker` and the development AS's token endpoint."""
    header, claims = _parse(proof)
    if header.get("typ") != "dpop+jwt":
        raise ProofRejected(f"the proof's typ is {_short(header.get('typ'))}, not dpop+jwt (RFC 9449 §4.2)")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ALGS:
        raise ProofRejected(f"the proof's alg {_short(alg)} is not accepted (asymmetric only: {' '.join(ALGS)})")
    if "crit" in header:
        raise ProofRejected("the proof has a 'crit' header with extensions this server does not understand (RFC 7515 §4.1.11)")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict):
        raise ProofRejected("the proof's header has no jwk (RFC 9449 §4.2)")
    if any(m in jwk for m in PRIVATE_MEMBERS):
        raise ProofRejected("the proof's jwk contains private key material (RFC 9449 §4.3)")
    key = _public_key(jwk, alg)
    try:
        jwt.PyJWS().decode(proof, key, algorithms=[alg])  # the signature only; the claims are the caller's
    except (jwt.PyJWTError, ValueError, TypeError):
        raise ProofRejected("the proof's signature does not verify with its jwk") from None
    return claims, jwk


def _parse(proof: str) -> tuple[dict[str, Any], dict[str, Any]]:
    if len(proof) > MAX_PROOF_BYTES:
        raise ProofRejected(f"the DPoP proof is too large ({len(proof)} bytes)")
    segments = proof.split(".")
    if len(segments) != 3 or not all(segments):
        raise ProofRejected("the DPoP header is not a signed JWT in compact form (RFC 9449 §4.3)")
    parsed = []
    for segment in segments[:2]:
        try:
            value = json.loads(base64url.decode(segment))
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise ProofRejected("the DPoP proof is not base64url JSON (RFC 9449 §4.3)") from None
        if not isinstance(value, dict):
            raise ProofRejected("the DPoP proof's header or claims are not a JSON object")
        parsed.append(value)
    return parsed[0], parsed[1]


def _public_key(jwk: dict[str, Any], alg: str) -> Any:
    kty = jwk.get("kty")
    if alg.startswith("ES") and (kty != "EC" or jwk.get("crv") != EC_CURVE[alg]):
        raise ProofRejected(f"the proof's alg {alg} needs an EC {EC_CURVE[alg]} key")
    if alg[:2] in ("RS", "PS") and kty != "RSA":
        raise ProofRejected(f"the proof's alg {alg} needs an RSA key")
    if alg == "EdDSA" and (kty != "OKP" or jwk.get("crv") not in ("Ed25519", "Ed448")):
        raise ProofRejected("the proof's alg EdDSA needs an Ed25519 or Ed448 key")
    try:
        key = jwt.PyJWK.from_dict(jwk, algorithm=alg).key
    except (jwt.PyJWTError, ValueError, TypeError, KeyError):
        raise ProofRejected("the proof's jwk is not a usable public key") from None
    if kty == "RSA" and getattr(key, "key_size", 0) < 2048:
        raise ProofRejected("the proof's RSA key is shorter than 2048 bits")
    return key


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
