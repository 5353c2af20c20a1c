"""Client ID Metadata Documents (MCP 2026-07-28 Client Registration;
draft-ietf-oauth-client-id-metadata-document): the client_id is an https URL
whose document describes the client.

Loopback http URLs are accepted too, because this is a development server.

Fetching a URL that anyone can name is a server-side request (the draft's
Security Considerations: SSRF), so the fetch is bounded on every side:

- the destination is resolved first and refused when any address is private,
  loopback, link-local, unspecified, multicast or reserved, unless serve runs
  with ``--allow-private-cimd``; the connection then goes to the address that
  was checked (no second resolution a rebinding DNS server could answer);
- one total deadline covers resolution, connection, headers and body (a
  server dripping a byte every few seconds fails at the deadline);
- the body is streamed with the size cap, never read whole first, and
  compression is refused (no decompression bombs);
- redirects are not followed;
- a document nested too deeply or holding a lone surrogate is refused as
  ``invalid_client_metadata`` (bodies.parse_json), never a 5xx;
- what went wrong is logged here; the answer, which other origins may read,
  says only that the document could not be fetched (no port/connect oracle);
- documents are cached as HTTP allows (Cache-Control max-age, clamped to
  [MIN_CACHE_SECONDS, MAX_CACHE_SECONDS]), re-fetched when stale, in a
  bounded LRU.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx

from authkit_mcp_cli.capped import MAX_CLIENT_METADATA_BYTES, BodyTooLarge, read_capped
from authkit_mcp_cli.cimd import document_problems, is_client_id_url
from authkit_mcp_cli.http import make_client
from authkit_mcp_cli.server.local_as.bodies import UnsafeJson, parse_json
from authkit_mcp_cli.server.local_as.provider import Client, OAuthError, check_redirect_uri
from authkit_mcp_cli.server.local_as.redirect_uris import check_redirect_uri_syntax
from authkit_mcp_cli.server.lru import LRUCache
from authkit_mcp_cli.urls import is_loopback_host

log = logging.getLogger("atoms_auth.serve.cimd")

FETCH_DEADLINE_SECONDS = 5.0
DEFAULT_CACHE_SECONDS = 300  # no Cache-Control max-age
MIN_CACHE_SECONDS = 60  # no-store / no-cache / max-age=0 still spare the client's host a fetch per request
MAX_CACHE_SECONDS = 24 * 3600
MAX_CACHED_DOCUMENTS = 256
MAX_CONCURRENT_FETCHES = 8
FETCH_FAILED = "the client metadata document could not be fetched"


class FetchRefused(Exception):
    """Why a fetch failed: for the server's log only, never for the response."""


def is_metadata_url(client_id: str) -> bool:
    return is_client_id_url(client_id, allow_loopback_http=True)


def validate_document(client_id: str, doc: Any) -> Client:
    problems = document_problems(client_id, doc, allow_loopback_http=True)
    if problems:
        raise OAuthError("invalid_client", "client metadata document: " + "; ".join(problems))
    method = doc.get("token_endpoint_auth_method", "none")
    if method != "none":
        raise OAuthError("invalid_client", f"token_endpoint_auth_method {method!r} is not supported here (use none)")
    uris = doc["redirect_uris"]
    app_type = doc.get("application_type", "native" if all(is_loopback_host(urlsplit(u).hostname) for u in uris) else "web")
    for uri in uris:
        try:
            check_redirect_uri_syntax(uri)  # the same authority rule as registration (issue 14 item 4)
            check_redirect_uri(uri, app_type)
        except OAuthError as exc:
            raise OAuthError("invalid_client", exc.description) from None
    grants = doc.get("grant_types", ["authorization_code", "refresh_token"])
    return Client(
        client_id=client_id,
        redirect_uris=list(uris),
        token_endpoint_auth_method="none",
        application_type=app_type if app_type in ("web", "native") else "web",
        grant_types=[g for g in grants if g in ("authorization_code", "refresh_token")] if isinstance(grants, list) else ["authorization_code"],
        client_name=doc["client_name"][:200],
        metadata_document=True,
    )


def address_refusal(address: str) -> str | None:
    """Why ``address`` is not a public destination, or None when it is."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback
    for name in ("loopback", "link_local", "unspecified", "multicast", "private", "reserved"):
        if getattr(ip, f"is_{name}"):
            return name.replace("_", "-")
    if not ip.is_global:
        return "not globally routable"
    return None


def cache_seconds(cache_control: str | None) -> int:
    """How long a document may be kept (RFC 9111 §5.2.2.1 max-age), within our bounds."""
    if not cache_control:
        return DEFAULT_CACHE_SECONDS
    directives = [d.strip().lower() for d in cache_control.split(",")]
    if any(d in ("no-store", "no-cache") for d in directives):
        return MIN_CACHE_SECONDS
    for directive in directives:
        match = re.fullmatch(r'max-age\s*=\s*"?(\d+)"?', directive)
        if match:
            return max(MIN_CACHE_SECONDS, min(MAX_CACHE_SECONDS, int(match.group(1))))
    return DEFAULT_CACHE_SECONDS


class MetadataDocumentFetcher:
    def __init__(self, *, allow_private: bool = False, deadline: float = FETCH_DEADLINE_SECONDS, max_bytes: int = MAX_CLIENT_METADATA_BYTES, max_cached: int = MAX_CACHED_DOCUMENTS) -> None:
        self.allow_private = allow_private
        self.deadline = deadline
        self.max_bytes = max_bytes
        self.max_cached = max_cached
        self._cache: LRUCache[str, tuple[float, Client]] = LRUCache(max_cached)
        self._slots = asyncio.Semaphore(MAX_CONCURRENT_FETCHES)

    def cached(self, client_id: str) -> Client | None:
        hit = self._cache.get(client_id)
        if hit is None:
            return None
        if time.monotonic() >= hit[0]:
            del self._cache[client_id]  # stale: fetch again
            return None
        return hit[1]

    async def fetch(self, client_id: str) -> Client:
        client = self.cached(client_id)
        if client is not None:
            return client
        try:
            with anyio.fail_after(self.deadline):
                async with self._slots:
                    doc, max_age = await self._download(client_id)
        except FetchRefused as exc:
            log.warning("client metadata document %s refused: %s", client_id, exc)
            raise OAuthError("invalid_client", FETCH_FAILED) from None
        except TimeoutError:
            log.warning("client metadata document %s refused: no complete answer within %.0f s", client_id, self.deadline)
            raise OAuthError("invalid_client", FETCH_FAILED) from None
        except (httpx.HTTPError, OSError) as exc:
            log.warning("client metadata document %s refused: %s (%s)", client_id, type(exc).__name__, exc)
            raise OAuthError("invalid_client", FETCH_FAILED) from None
        client = validate_document(client_id, doc)
        self._cache[client_id] = (time.monotonic() + max_age, client)
        return client

    async def _download(self, client_id: str) -> tuple[Any, int]:
        url = httpx.URL(client_id)
        host, port = url.host, url.port or (443 if url.scheme == "https" else 80)
        address = await self._destination(host, port)
        headers = {"Accept": "application/json", "Accept-Encoding": "identity", "Host": url.netloc.decode("ascii")}
        extensions = {"sni_hostname": host} if url.scheme == "https" else {}
        async with make_client(timeout=self.deadline) as http:
            async with http.stream("GET", url.copy_with(host=address), headers=headers, extensions=extensions) as response:
                if response.status_code != 200:
                    raise FetchRefused(f"HTTP {response.status_code}")
                encoding = response.headers.get("content-encoding", "identity").lower()
                if encoding != "identity":
                    raise FetchRefused(f"Content-Encoding {encoding} (asked for identity)")
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > self.max_bytes:
                    raise FetchRefused(f"Content-Length {declared} is over the {self.max_bytes}-byte cap")
                try:
                    body = await read_capped(response.aiter_raw(), self.max_bytes)  # raw: compression was refused above
                except BodyTooLarge:
                    raise FetchRefused(f"the body is over the {self.max_bytes}-byte cap (stopped reading)") from None
                max_age = cache_seconds(response.headers.get("cache-control"))
        try:
            return parse_json(bytes(body)), max_age
        except ValueError:
            raise FetchRefused("the body is not JSON") from None
        except UnsafeJson as exc:  # fetched, but no document serve can hold (nor show on a page)
            log.warning("client metadata document %s refused: %s", client_id, exc)
            raise OAuthError("invalid_client_metadata", f"the client metadata document is refused: {exc}") from None

    async def _destination(self, host: str, port: int) -> str:
        """The address to connect to: resolved once, every address checked."""
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise FetchRefused(f"{host} does not resolve ({exc.strerror})") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not addresses:
            raise FetchRefused(f"{host} has no address")
        if not self.allow_private:
            for address in addresses:
                why = address_refusal(address)
                if why:
                    raise FetchRefused(f"{host} resolves to {address} ({why}); serve --allow-private-cimd allows it")
        return addresses[0]
