"""The integration guide's compatibility endpoints: the server's own
``/.well-known/oauth-authorization-server`` and
``/.well-known/openid-configuration``, for clients that look for AS metadata
on the MCP server's origin (MCP 2025-03-26 fallback).

The AS's documents are forwarded byte for byte (never rebuilt from the OIDC
document, which for AuthKit lacks PKCE and registration fields), cached for
``ttl`` seconds, fetched with a deadline, and replaced by a 502 JSON error
when the AS is down or answers garbage. CORS comes from the app's middleware.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from authkit_mcp_cli.capped import MAX_SERVED_DOCUMENT_BYTES, BodyTooLarge
from authkit_mcp_cli.http import make_client
from authkit_mcp_cli.server.jwks import get_capped
from authkit_mcp_cli.urls import OAUTH_AS_WELL_KNOWN, OIDC_WELL_KNOWN, as_metadata_urls

__all__ = ["MetadataForwarder"]


@dataclass
class _Entry:
    body: bytes
    fetched_at: float


class MetadataForwarder:
    def __init__(self, issuer: str, *, ttl: float = 300.0, timeout: float = 5.0) -> None:
        self.issuer = issuer
        self.ttl = ttl
        self.timeout = timeout
        urls = dict((kind, url) for kind, url in reversed(as_metadata_urls(issuer)))  # first URL of each kind
        self.upstream = {OAUTH_AS_WELL_KNOWN: urls["oauth"], OIDC_WELL_KNOWN: urls["oidc"]}
        self._cache: dict[str, _Entry] = {}
        self._locks = {path: asyncio.Lock() for path in self.upstream}
        self._client = make_client(timeout=timeout)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def endpoint(self, request: Request) -> Response:
        path = request.url.path
        if request.method == "OPTIONS":
            return Response(status_code=204)
        entry = self._cache.get(path)
        if entry is None or time.monotonic() - entry.fetched_at > self.ttl:
            async with self._locks[path]:
                entry = self._cache.get(path)
                if entry is None or time.monotonic() - entry.fetched_at > self.ttl:
                    try:
                        entry = await self._fetch(self.upstream[path])
                    except _UpstreamError as exc:
                        return JSONResponse(
                            {"error": "upstream_unavailable", "error_description": f"the authorization server's metadata could not be fetched from {self.upstream[path]}: {exc}"},
                            status_code=502,
                            headers={"Cache-Control": "no-store"},
                        )
                    self._cache[path] = entry
        return Response(entry.body, media_type="application/json", headers={"Cache-Control": f"public, max-age={int(self.ttl)}"})

    async def _fetch(self, url: str) -> _Entry:
        try:
            async with asyncio.timeout(self.timeout):
                # read no more than the cap (issue 14 item 8): a huge answer is refused, not buffered
                status, body = await get_capped(self._client, url, timeout=self.timeout, limit=MAX_SERVED_DOCUMENT_BYTES, headers={"Accept": "application/json"})
        except TimeoutError:
            raise _UpstreamError(f"no answer within {self.timeout:g} s") from None
        except BodyTooLarge:
            raise _UpstreamError("document too large") from None
        except httpx.HTTPError as exc:
            raise _UpstreamError(type(exc).__name__) from None
        if status != 200:
            raise _UpstreamError(f"HTTP {status}")
        try:
            doc = json.loads(body)
        except (ValueError, RecursionError):
            raise _UpstreamError("the answer is not JSON") from None
        if not isinstance(doc, dict) or doc.get("issuer") != self.issuer:
            raise _UpstreamError("the answer is not metadata for this issuer")
        return _Entry(body=body, fetched_at=time.monotonic())


class _UpstreamError(Exception):
    pass
