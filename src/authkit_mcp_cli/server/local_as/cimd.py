"""Client ID Metadata Documents (MCP 2026-07-28 Client Registration;
draft-ietf-oauth-client-id-metadata-document): the client_id is an https URL
whose document describes the client.

Loopback http URLs are accepted too, because this is a development server.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from authkit_mcp_cli.cimd import document_problems, is_client_id_url
from authkit_mcp_cli.http import make_client
from authkit_mcp_cli.server.local_as.provider import Client, OAuthError, check_redirect_uri
from authkit_mcp_cli.urls import is_loopback_host

MAX_DOCUMENT_BYTES = 64 * 1024
CACHE_SECONDS = 300


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


class MetadataDocumentFetcher:
    def __init__(self, *, timeout: float = 5.0) -> None:
        self.timeout = timeout
        self._cache: dict[str, tuple[float, Client]] = {}

    async def fetch(self, client_id: str) -> Client:
        hit = self._cache.get(client_id)
        if hit and time.monotonic() - hit[0] < CACHE_SECONDS:
            return hit[1]
        try:
            async with make_client(timeout=self.timeout) as http:
                response = await http.get(client_id, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise OAuthError("invalid_client", f"the client metadata document {client_id} could not be fetched ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise OAuthError("invalid_client", f"the client metadata document {client_id} answered HTTP {response.status_code}")
        if len(response.content) > MAX_DOCUMENT_BYTES:
            raise OAuthError("invalid_client", "the client metadata document is too large")
        try:
            doc = response.json()
        except ValueError:
            raise OAuthError("invalid_client", "the client metadata document is not JSON") from None
        client = validate_document(client_id, doc)
        self._cache[client_id] = (time.monotonic(), client)
        return client
