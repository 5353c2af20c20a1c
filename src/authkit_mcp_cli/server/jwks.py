"""The authorization server's signing keys for token verification.

Fetched lazily and cached; an unknown ``kid`` triggers one refetch, at most
every ``min_refetch_interval`` seconds (so forged kids cannot make us hammer
the AS); when the JWKS endpoint is down, the keys already known stay usable.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
import jwt

from authkit_mcp_cli.http import make_client

log = logging.getLogger("atoms_auth.serve")

ASYMMETRIC_KTY = {"RSA", "EC", "OKP"}


class JwksCache:
    def __init__(self, jwks_uri: str, *, timeout: float = 5.0, min_refetch_interval: float = 30.0, max_age: float = 600.0, client: httpx.AsyncClient | None = None) -> None:
        self.jwks_uri = jwks_uri
        self.timeout = timeout
        self.min_refetch_interval = min_refetch_interval
        self.max_age = max_age  # keys removed at the AS (rotation) stop verifying after at most this long
        self._fetched_at = float("-inf")
        self._background: asyncio.Task[None] | None = None
        self._client = client
        self._keys: dict[str | None, jwt.PyJWK] = {}
        self._last_attempt = float("-inf")
        self._lock = asyncio.Lock()
        self.fetches = 0

    @classmethod
    def static(cls, jwks: dict[str, Any]) -> JwksCache:
        """A cache that never fetches (the embedded AS hands over its own keys)."""
        cache = cls("static:", min_refetch_interval=float("inf"))
        cache._keys = parse_jwks(jwks)
        cache._last_attempt = float("inf")
        cache._fetched_at = float("inf")
        return cache

    @property
    def keys(self) -> dict[str | None, jwt.PyJWK]:
        return self._keys

    async def key_for(self, kid: str | None) -> jwt.PyJWK | None:
        key = self._lookup(kid)
        if key is not None:
            self.refresh_if_stale()
            return key
        await self._refresh()
        return self._lookup(kid)

    def has_kid(self, kid: str | None) -> bool:
        return self._lookup(kid) is not None

    def refresh_if_stale(self) -> None:
        """Stale keys keep working while a fresh copy is fetched (never a request waiting on the AS)."""
        if time.monotonic() - self._fetched_at > self.max_age and (self._background is None or self._background.done()):
            self._background = asyncio.ensure_future(self._refresh())

    def _lookup(self, kid: str | None) -> jwt.PyJWK | None:
        if kid is None:
            # A token without kid is acceptable only when the choice is unambiguous.
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    async def _refresh(self) -> None:
        async with self._lock:
            now = time.monotonic()
            if now - self._last_attempt < self.min_refetch_interval:
                return
            self._last_attempt = now
            try:
                self.fetches += 1
                if self._client is not None:
                    response = await self._client.get(self.jwks_uri, timeout=self.timeout)
                else:
                    async with make_client(timeout=self.timeout) as client:
                        response = await client.get(self.jwks_uri)
                response.raise_for_status()
                keys = parse_jwks(response.json())
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("JWKS fetch from %s failed (%s); keeping %d cached key(s)", self.jwks_uri, exc, len(self._keys))
                return
            if keys:
                self._keys = keys
                self._fetched_at = time.monotonic()


def parse_jwks(doc: Any) -> dict[str | None, jwt.PyJWK]:
    """Usable public signing keys by kid; private, symmetric and encryption keys are dropped."""
    keys: dict[str | None, jwt.PyJWK] = {}
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        raise ValueError("not a JWK Set")
    for entry in doc["keys"]:
        if not isinstance(entry, dict) or entry.get("kty") not in ASYMMETRIC_KTY or entry.get("use", "sig") != "sig":
            continue
        if any(p in entry for p in ("d", "p", "q", "k")):
            continue  # never trust a JWKS that leaks private material for verification
        try:
            keys[entry.get("kid")] = jwt.PyJWK.from_dict(entry)
        except jwt.PyJWTError:
            continue
    return keys
