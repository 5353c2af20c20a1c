"""The authorization server's signing keys for token verification.

``JwksCache.for_issuer`` reads ``jwks_uri`` from the AS's own metadata (RFC
8414 §2, found by the MCP spec's ordered URL list, issuer compared exactly),
so any spec-following AS works, not only AuthKit's ``/oauth2/jwks``. When the
keys cannot be had, ``problem`` says why (metadata or JWKS unreachable, no
``jwks_uri``), for the 401's error_description and the log.

Fetched lazily and cached; an unknown ``kid`` triggers one refetch, at most
every ``min_refetch_interval`` seconds (so forged kids cannot make us hammer
the AS); when the JWKS endpoint is down, the keys already known stay usable.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import httpx
import jwt

from authkit_mcp_cli.capped import MAX_SERVED_DOCUMENT_BYTES, BodyTooLarge, kib, read_capped
from authkit_mcp_cli.http import make_client
from authkit_mcp_cli.urls import as_metadata_urls

log = logging.getLogger("atoms_auth.serve")

ASYMMETRIC_KTY = {"RSA", "EC", "OKP"}


class JwksCache:
    def __init__(self, jwks_uri: str | None, *, timeout: float = 5.0, min_refetch_interval: float = 30.0, max_age: float = 600.0, client: httpx.AsyncClient | None = None, issuer: str | None = None) -> None:
        self.jwks_uri = jwks_uri  # None: read from the metadata of ``issuer`` at the first fetch
        self.issuer = issuer
        self.problem: str | None = None  # why the last fetch gave no keys
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
    def for_issuer(cls, issuer: str, **kwargs: Any) -> JwksCache:
        """Keys at the ``jwks_uri`` the AS's metadata names (RFC 8414 §2)."""
        return cls(None, issuer=issuer, **kwargs)

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
            self.fetches += 1
            if self._client is not None:
                await self._fetch(self._client)
            else:
                async with make_client(timeout=self.timeout) as client:
                    await self._fetch(client)

    async def _fetch(self, client: httpx.AsyncClient) -> None:
        try:
            if self.jwks_uri is None:
                self.jwks_uri = await self._discover_jwks_uri(client)
            status, body = await get_capped(client, self.jwks_uri, timeout=self.timeout)
            if status != 200:
                raise ValueError(f"HTTP {status}")
            keys = parse_jwks(json.loads(body))
        except (httpx.HTTPError, ValueError, RecursionError) as exc:
            where = f"JWKS fetch from {self.jwks_uri}" if self.jwks_uri else f"reading the jwks_uri of {self.issuer} from its metadata"
            self.problem = f"{where} failed: {exc}"
            log.warning("%s; keeping the cached keys (%d)", self.problem, len(self._keys))
            return
        if not keys:
            self.problem = f"the JWKS at {self.jwks_uri} has no usable public signing key"
            log.warning("%s", self.problem)
            return
        self._keys, self.problem = keys, None
        self._fetched_at = time.monotonic()

    async def _discover_jwks_uri(self, client: httpx.AsyncClient) -> str:
        """The ``jwks_uri`` of the first usable metadata document, in the MCP spec's order (RFC 8414 §3)."""
        assert self.issuer is not None
        tried = []
        for _kind, url in as_metadata_urls(self.issuer):
            try:
                status, body = await get_capped(client, url, timeout=self.timeout)
                doc = json.loads(body) if status == 200 else None
            except (httpx.HTTPError, ValueError, RecursionError) as exc:
                tried.append(f"{url}: {type(exc).__name__}")
                continue
            if not isinstance(doc, dict):
                tried.append(f"{url}: {status}")
                continue
            if doc.get("issuer") != self.issuer:
                raise ValueError(f"the metadata at {url} names issuer {doc.get('issuer')!r}, not {self.issuer!r}")
            uri = doc.get("jwks_uri")
            if not isinstance(uri, str) or not uri.startswith(("https://", "http://")):
                raise ValueError(f"the metadata at {url} has no jwks_uri")
            log.info("signing keys of %s: %s (from %s)", self.issuer, uri, url)
            return uri
        raise ValueError("no metadata found (" + "; ".join(tried) + ")")


async def get_capped(client: httpx.AsyncClient, url: str, *, timeout: float, limit: int = MAX_SERVED_DOCUMENT_BYTES, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """GET ``url``; the status and the decoded body, reading no more than ``limit`` bytes (``BodyTooLarge``, a ValueError, beyond)."""
    async with client.stream("GET", url, timeout=timeout, headers=headers) as response:
        try:
            return response.status_code, await read_capped(response.aiter_bytes(), limit)
        except BodyTooLarge as big:
            raise BodyTooLarge(limit, big.head, f"the document at {url} is larger than {kib(limit)}") from None


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
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            continue
    return keys
