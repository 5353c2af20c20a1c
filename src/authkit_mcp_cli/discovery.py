"""Client-side discovery, in the order the MCP spec prescribes:
the 401 challenge -> protected-resource metadata (header URL, then the
path-inserted URL, then the root) -> authorization-server metadata (the
ordered RFC 8414 / OIDC list, issuer compared exactly) -> PKCE support.

Each function raises the project's errors with the spec section; the
``Discovered`` result is what login, call and register build on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from authkit_mcp_cli.challenge import ChallengeParseError, find_bearer, parse_www_authenticate
from authkit_mcp_cli.errors import NetworkError, ProtocolError
from authkit_mcp_cli.http import Exchange, HttpPolicy, exchange
from authkit_mcp_cli.trace import TraceWriter
from authkit_mcp_cli.urls import as_metadata_urls, is_absolute_http_url, is_secure_url, prm_urls, resource_matches

SPEC_PRM = "RFC 9728 §3, §5; MCP 2026-07-28 Authorization: Protected Resource Metadata Discovery"
SPEC_AS = "MCP 2026-07-28 Authorization Server Discovery; RFC 8414 §3"

# What a real client sends first: an initialize request (both wire generations accept it).
INITIALIZE = json.dumps(
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "atoms-auth-doctor", "version": "1"},
        },
    }
).encode()
MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


@dataclass
class Challenge401:
    status: int
    resource_metadata: str | None = None
    scope: str | None = None
    error: str | None = None


@dataclass
class Discovered:
    server_url: str
    resource: str
    prm: dict[str, Any]
    prm_url: str
    challenge_scope: str | None
    issuer: str
    metadata: dict[str, Any]
    metadata_url: str
    notes: list[str] = field(default_factory=list)

    @property
    def scopes_supported(self) -> list[str]:
        scopes = self.prm.get("scopes_supported")
        return [s for s in scopes if isinstance(s, str)] if isinstance(scopes, list) else []

    @property
    def iss_advertised(self) -> bool:
        return self.metadata.get("authorization_response_iss_parameter_supported") is True


NETWORK_HINTS = {
    "dns": "Check the host name in the URL.",
    "refused": "Start the server, or fix the port in the URL.",
    "tls": "Fix the server's certificate (a tunnel such as cloudflared gives a valid one); for a private CA set SSL_CERT_FILE to its bundle.",
    "timeout": "The remote is slow or unreachable; raise --http-timeout (or --timeout for doctor) to tell which.",
    "insecure": "Use https, or --allow-http for a trusted test setup.",
    "too_large": "The remote sent far more than any OAuth document needs; check the URL.",
    "redirect": "Point atoms-auth at the final URL; redirects are followed only a few times.",
}


def network_error(ex: Exchange, what: str) -> NetworkError:
    hint = NETWORK_HINTS.get(ex.error_kind or "", "Check the URL, that the server is running, and your network.")
    return NetworkError(f"{what}: {ex.error}.", hint=hint)


def parse_challenge(ex: Exchange) -> Challenge401:
    ch = Challenge401(status=ex.status or 0)
    try:
        bearer = find_bearer(parse_www_authenticate(ex.header_list("www-authenticate")))
    except ChallengeParseError:
        bearer = None
    if bearer is not None:
        ch.resource_metadata = bearer.get("resource_metadata")
        ch.scope = bearer.get("scope")
        ch.error = bearer.get("error")
    return ch


async def probe_challenge(client: httpx.AsyncClient, server_url: str, policy: HttpPolicy, trace: TraceWriter | None) -> Challenge401:
    ex = await exchange(client, "POST", server_url, policy=policy, headers=MCP_HEADERS, content=INITIALIZE, follow_redirects=False, trace=trace)
    if not ex.ok:
        raise network_error(ex, f"The MCP server {server_url} could not be reached")
    if ex.status != 401:
        # Some servers guard only some methods, and 2026-07-28 servers may refuse a legacy
        # initialize (400): the well-known PRM URLs can still name the AS.
        return Challenge401(status=ex.status or 0)
    return parse_challenge(ex)


async def fetch_prm(client: httpx.AsyncClient, server_url: str, challenge: Challenge401, policy: HttpPolicy, trace: TraceWriter | None) -> tuple[dict[str, Any], str]:
    path_url, root_url = prm_urls(server_url)
    candidates = [u for u in (challenge.resource_metadata, path_url, root_url) if u]
    tried = []
    for url in dict.fromkeys(candidates):
        if not is_absolute_http_url(url):
            tried.append(f"{url}: not an absolute URL")
            continue
        ex = await exchange(client, "GET", url, policy=policy, headers={"Accept": "application/json"}, trace=trace)
        doc, err = ex.json_object()
        if ex.status == 200 and doc is not None:
            return doc, url
        tried.append(f"{url}: {ex.error or ex.status}{'' if ex.status != 200 else ' (' + str(err) + ')'}")
    unguarded = f" The server answered an unauthenticated MCP request with {challenge.status}, not 401, so it may not use OAuth at all." if challenge.status != 401 else ""
    raise ProtocolError("No protected-resource metadata found. Tried: " + "; ".join(tried) + "." + unguarded, hint=f"Run atoms-auth doctor --server {server_url}.", spec=SPEC_PRM)


def check_prm(prm: dict[str, Any], server_url: str) -> str:
    """Return the canonical resource; refuse metadata for another resource (RFC 9728 §3.3)."""
    resource = prm.get("resource")
    if not isinstance(resource, str):
        raise ProtocolError("The protected-resource metadata has no resource.", spec="RFC 9728 §2")
    good, why = resource_matches(resource, server_url, allow_prefix=True)
    if not good:
        raise ProtocolError(
            f"The protected-resource metadata is for {resource!r}, which {why} compared with {server_url!r}; a client must not use it.",
            hint="The server must publish its own URL as resource (no trailing slash).",
            spec="RFC 9728 §3.3; RFC 8707",
        )
    servers = prm.get("authorization_servers")
    if not isinstance(servers, list) or not any(isinstance(s, str) for s in servers):
        raise ProtocolError("The protected-resource metadata names no authorization_servers.", spec="RFC 9728 §2")
    return resource


async def fetch_as_metadata(client: httpx.AsyncClient, issuer: str, policy: HttpPolicy, trace: TraceWriter | None) -> tuple[dict[str, Any], str]:
    if not is_absolute_http_url(issuer):
        raise ProtocolError(f"The authorization server {issuer!r} is not an absolute URL.", spec="RFC 9728 §2")
    if not is_secure_url(issuer) and not policy.allow_insecure:
        raise ProtocolError(f"The authorization server {issuer} is not https.", hint="Use https (or --allow-http for a trusted test setup).", spec="MCP 2026-07-28 Security Considerations")
    tried = []
    for _kind, url in as_metadata_urls(issuer):
        ex = await exchange(client, "GET", url, policy=policy, headers={"Accept": "application/json"}, trace=trace)
        doc, err = ex.json_object()
        if ex.status == 200 and doc is not None:
            if doc.get("issuer") != issuer:
                # RFC 8414 §3.3: the issuer must be identical; such a document must not be used
                raise ProtocolError(
                    f"The metadata at {url} names issuer {doc.get('issuer')!r}, not {issuer!r}; it must not be used.",
                    hint="The server's protected-resource metadata must list the AS's issuer exactly (no trailing slash).",
                    spec="RFC 8414 §3.3",
                )
            return doc, url
        tried.append(f"{url}: {ex.error or ex.status}{'' if ex.status != 200 else ' (' + str(err) + ')'}")
    raise ProtocolError(f"No authorization server metadata for {issuer}. Tried: " + "; ".join(tried) + ".", hint=f"Run atoms-auth doctor --authkit-domain {issuer}.", spec=SPEC_AS)


def check_as_metadata(metadata: dict[str, Any], *, allow_insecure: bool) -> None:
    methods = metadata.get("code_challenge_methods_supported")
    if not isinstance(methods, list) or "S256" not in methods:
        raise ProtocolError(
            "The authorization server does not advertise PKCE S256 (code_challenge_methods_supported); MCP clients must refuse to proceed.",
            hint="Advertise code_challenge_methods_supported: [\"S256\"] in the AS metadata.",
            spec="MCP 2026-07-28 Authorization: Authorization Code Protection",
        )
    for name in ("authorization_endpoint", "token_endpoint"):
        value = metadata.get(name)
        if not is_absolute_http_url(value):
            raise ProtocolError(f"The AS metadata has no usable {name}.", spec="RFC 8414 §2")
        if not is_secure_url(value) and not allow_insecure:
            raise ProtocolError(f"The AS's {name} {value} is not https.", hint="Use https (or --allow-http).", spec="OAuth 2.1 §1.5")


async def discover(
    client: httpx.AsyncClient,
    server_url: str,
    policy: HttpPolicy,
    trace: TraceWriter | None = None,
    *,
    prefer_issuer: str | None = None,
    challenge: Challenge401 | None = None,
) -> Discovered:
    """From the server URL (or a challenge already received on a real MCP request) to usable AS metadata."""
    if challenge is None:
        challenge = await probe_challenge(client, server_url, policy, trace)
    prm, prm_url = await fetch_prm(client, server_url, challenge, policy, trace)
    resource = check_prm(prm, server_url)
    servers = [s for s in prm["authorization_servers"] if isinstance(s, str)]
    issuer = prefer_issuer if prefer_issuer in servers else servers[0]
    metadata, metadata_url = await fetch_as_metadata(client, issuer, policy, trace)
    check_as_metadata(metadata, allow_insecure=policy.allow_insecure)
    return Discovered(server_url, resource, prm, prm_url, challenge.scope, issuer, metadata, metadata_url)


async def discover_issuer(client: httpx.AsyncClient, issuer: str, policy: HttpPolicy, trace: TraceWriter | None = None) -> tuple[dict[str, Any], str]:
    """AS metadata only (``--authkit-domain`` without a server)."""
    metadata, url = await fetch_as_metadata(client, issuer, policy, trace)
    check_as_metadata(metadata, allow_insecure=policy.allow_insecure)
    return metadata, url


def select_scope(challenge_scope: str | None, discovered: Discovered, extra: list[str] | None = None) -> str | None:
    """MCP Scope Selection Strategy: the challenge's scope, else all of PRM's
    scopes_supported, else none; offline_access only when the AS lists it."""
    if challenge_scope:
        scopes = challenge_scope.split()
    else:
        scopes = list(discovered.scopes_supported)
    scopes = [s for s in scopes if s != "offline_access"]
    for s in extra or []:
        scopes.extend(s.split())
    as_scopes = discovered.metadata.get("scopes_supported")
    grants = discovered.metadata.get("grant_types_supported")
    if isinstance(as_scopes, list) and "offline_access" in as_scopes and (not isinstance(grants, list) or "refresh_token" in grants):
        scopes.append("offline_access")
    scopes = list(dict.fromkeys(scopes))
    return " ".join(scopes) or None
