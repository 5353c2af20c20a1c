"""The 2025-03-26 revision's discovery, for a server with no
protected-resource metadata at all: the server's origin is its own
authorization server (MCP 2025-03-26 Authorization §2.3.2, "Server Metadata
Discovery", and §2.3.3, "Fallbacks for Servers without Metadata Discovery").

As the official SDKs do: RFC 8414 metadata at the origin (its ``issuer`` must
be the origin, with or without the one trailing slash the origin URL
carries), else the default endpoints ``/authorize``, ``/token`` and
``/register`` there. Used only when every PRM candidate answered 404 to a
401 that named none (:func:`authkit_mcp_cli.discovery.discover`): a PRM
that exists but is wrong is an error, never a reason to fall back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from authkit_mcp_cli.answers import JSON_HEADERS, describe_attempt, usable_document
from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import ProtocolError
from authkit_mcp_cli.http import HttpPolicy, exchange
from authkit_mcp_cli.urls import as_metadata_urls, origin

if TYPE_CHECKING:
    import httpx

SPEC_LEGACY = "MCP 2025-03-26 Authorization §2.3 (Server Metadata Discovery; Fallbacks for Servers without Metadata Discovery)"
DEFAULT_PATHS = {"authorization_endpoint": "/authorize", "token_endpoint": "/token", "registration_endpoint": "/register"}
ABSENT = (404, 410)
METADATA_AT_ORIGIN = "as-metadata-at-origin"
DEFAULT_ENDPOINTS = "default-endpoints"


@dataclass(frozen=True)
class LegacyAS:
    """The AS a 2025-03-26 server implies, and which fallback found it."""

    issuer: str
    metadata: dict[str, Any]
    metadata_url: str | None
    kind: str  # METADATA_AT_ORIGIN or DEFAULT_ENDPOINTS
    note: str  # one report line: which fallback, and why


def default_metadata(base: str) -> dict[str, Any]:
    """The 2025-03-26 default endpoints at ``base`` (§2.3.3); nothing else is assumed of the AS."""
    return {"issuer": base, **{name: base + path for name, path in DEFAULT_PATHS.items()}}


def origin_is_issuer(doc: dict[str, Any] | None, base: str) -> bool:
    """The 2025-03-26 rule "the server's origin is its own AS": the metadata at the origin ``base`` names
    that origin as its issuer (RFC 8414 §3.3): exactly, or with the one trailing slash the origin URL carries.
    The one copy of the rule: the client's fallback, doctor's AS discovery and prm.discovery all use it."""
    return doc is not None and doc.get("issuer") in (base, base + "/")


async def find_legacy_as(client: httpx.AsyncClient, server_url: str, policy: HttpPolicy, why: str) -> LegacyAS:
    """AS metadata at the server's origin, else its default endpoints; ``why``: what the PRM lookup found (for the note)."""
    base = origin(server_url)
    tried = []
    for _kind, url in as_metadata_urls(base):
        ex = await exchange(client, "GET", url, policy=policy, headers=JSON_HEADERS)
        doc, _ = usable_document(ex)
        if doc is None:
            tried.append(describe_attempt(url, ex))
            if ex.ok and ex.status in ABSENT:
                continue
            raise ProtocolError(
                f"No protected-resource metadata ({why}), so the server's origin {base} would be its authorization server (2025-03-26), but its metadata could not be read: {tried[-1]}.",
                code=ErrorCode.AS_METADATA_NOT_FOUND,
                hint=f"Serve RFC 9728 metadata for {server_url}, or RFC 8414 metadata at {base}/.well-known/oauth-authorization-server. Run atoms-auth doctor --server {server_url}.",
                spec=SPEC_LEGACY,
                url=url,
            )
        if not origin_is_issuer(doc, base):
            raise ProtocolError(
                f"The metadata at {url} names issuer {doc.get('issuer')!r}, not the origin {base!r} it was fetched from; it must not be used.",
                code=ErrorCode.AS_ISSUER_MISMATCH,
                hint="A server without protected-resource metadata must be its own authorization server; publish PRM naming the real AS instead.",
                spec="RFC 8414 §3.3; " + SPEC_LEGACY,
                url=url,
            )
        note = f"no protected-resource metadata ({why}): 2025-03-26 fallback, the server's origin is its authorization server (metadata at {url})"
        return LegacyAS(doc["issuer"], doc, url, METADATA_AT_ORIGIN, note)
    note = (
        f"no protected-resource metadata ({why}) and no AS metadata at the origin ({'; '.join(tried)}): "
        f"2025-03-26 fallback, default endpoints {base}/authorize, /token, /register"
    )
    return LegacyAS(base, default_metadata(base), None, DEFAULT_ENDPOINTS, note)
