"""MCP discovery: the rules once, as pure functions over exchanges, and the
client's walk through them.

The rules (no I/O): where protected-resource metadata (PRM) may live
(:func:`prm_candidates`), what makes an answer usable (:func:`usable_document`,
:func:`first_usable`), whether PRM is for this server (:func:`prm_resource`),
which AS it names (:func:`authorization_servers`), where AS metadata may live
(:func:`as_metadata_candidates`) and whether it is for the issuer asked
(:func:`issuer_matches`). The client (:func:`discover`) stops at the first
usable answer; doctor's evidence (``checks.gather``) asks every candidate and
judges each answer with the same functions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from authkit_mcp_cli.answers import JSON_HEADERS as JSON_HEADERS
from authkit_mcp_cli.answers import describe_attempt as describe_attempt
from authkit_mcp_cli.answers import first_usable as first_usable
from authkit_mcp_cli.answers import usable_document as usable_document
from authkit_mcp_cli.challenge import Challenges
from authkit_mcp_cli.error_codes import ErrorCode, network_code
from authkit_mcp_cli.errors import NetworkError, ProtocolError
from authkit_mcp_cli.http import Exchange, HttpPolicy, exchange
from authkit_mcp_cli.legacy_discovery import DEFAULT_ENDPOINTS, find_legacy_as
from authkit_mcp_cli.urls import as_metadata_urls, is_absolute_http_url, is_secure_url, origin, prm_urls, resource_matches

if TYPE_CHECKING:  # the client is the caller's: doctor --list-checks imports the catalogue without httpx
    import httpx

    from authkit_mcp_cli.issuers import IssuerBinding

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


# --- the rules -----------------------------------------------------------------


def prm_candidates(server_url: str, resource_metadata: str | None) -> list[tuple[str, str]]:
    """(location, url) in the order a client tries them: the challenge's
    ``resource_metadata`` (RFC 9728 §5.1), then path-inserted, then root
    (RFC 9728 §3.1; MCP Protected Resource Metadata Discovery)."""
    path_url, root_url = prm_urls(server_url)
    header = [("header", resource_metadata)] if resource_metadata else []
    return [*header, ("path", path_url), ("root", root_url)]


def prm_resource(doc: dict[str, Any], server_url: str, prm_url: str) -> tuple[str | None, str | None]:
    """(resource, None) when a client may use PRM fetched from ``prm_url`` for ``server_url``, else (resource, why not).

    RFC 9728 §3.3 wants the path-inserted and the challenge-named documents to
    name the MCP URL exactly. Clients accept an origin or path prefix of it from
    any location, as the official SDKs do (TypeScript ``checkResourceAllowed``,
    Python ``check_resource_allowed``): refusing would break servers that real
    clients reach. The client says so (``broader_audience``), and doctor's
    ``prm.resource`` warns where the RFC wants the exact value (issue #14 §12).
    """
    resource = doc.get("resource")
    if not isinstance(resource, str):
        return None, f"resource is not a string ({resource!r})"
    good, why = resource_matches(resource, server_url, allow_prefix=True)
    return resource, None if good else why


def exact_resource_required(server_url: str, prm_url: str) -> bool:
    """RFC 9728 §3.3: a document not at the root well-known URL must name the resource exactly."""
    return prm_url != prm_urls(server_url)[1]


def authorization_servers(doc: dict[str, Any] | None) -> list[str]:
    """PRM's ``authorization_servers`` entries that are strings, in order (RFC 9728 §2)."""
    servers = (doc or {}).get("authorization_servers")
    return [s for s in servers if isinstance(s, str)] if isinstance(servers, list) else []


def choose_issuer(servers: list[str], prefer: str | None) -> str | None:
    """The AS to use: the preferred one when PRM lists it, else the first (MCP Authorization Server Location)."""
    if prefer in servers:
        return prefer
    return servers[0] if servers else None


def as_metadata_candidates(issuer: str) -> list[tuple[str, str]]:
    """(kind, url), kind ``oauth`` or ``oidc``, in the MCP spec's order (RFC 8414 §3.1; OIDC Discovery §4)."""
    return as_metadata_urls(issuer)


def issuer_matches(doc: dict[str, Any], issuer: str) -> bool:
    """RFC 8414 §3.3: the metadata's ``issuer`` is identical to the issuer it was fetched for."""
    return doc.get("issuer") == issuer


def issuer_difference(found: object, issuer: str) -> str:
    """Why two issuers that look alike still differ (for messages), or ''."""
    if not isinstance(found, str):
        return ""
    if found.rstrip("/") == issuer.rstrip("/"):
        return " They differ only by a trailing slash, which still fails the exact comparison."
    if found.lower() == issuer.lower():
        return " They differ only in letter case."
    return ""


# --- the client: stop at the first usable answer ----------------------------------


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
    notes: list[str] = field(default_factory=list)  # report lines, e.g. which 2025-03-26 fallback was used
    fallback: str | None = None  # legacy_discovery.METADATA_AT_ORIGIN or DEFAULT_ENDPOINTS: no PRM at all

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
    "plain_http": "This port speaks plain HTTP: use http:// in the URL (allowed on 127.0.0.1; elsewhere --allow-http, or put TLS in front).",
    "tls": "Fix the server's certificate (a tunnel such as cloudflared gives a valid one); for a private CA set SSL_CERT_FILE to its bundle.",
    "timeout": "The remote is slow or unreachable; raise --timeout to tell which.",
    "insecure": "Use https, or --allow-http for a trusted test setup.",
    "too_large": "The remote sent far more than any OAuth document needs; check the URL.",
    "redirect": "Point atoms-auth at the final URL; redirects are followed only a few times.",
}


def network_error(ex: Exchange, what: str) -> NetworkError:
    """A failed exchange as a NetworkError coded ``network.<kind>`` (``too_large`` -> ``network.too-large``)."""
    kind = ex.error_kind or "connect"
    hint = NETWORK_HINTS.get(kind, "Check the URL, that the server is running, and your network.")
    return NetworkError(f"{what}: {ex.error}.", code=network_code(kind), hint=hint, url=ex.url)


async def probe_challenge(client: httpx.AsyncClient, server_url: str, policy: HttpPolicy) -> Challenges:
    """The challenges of the 401 to an unauthenticated ``initialize`` (RFC 6750 §3, RFC 9728 §5.1), read
    by the one rule (:mod:`.challenge`); another status carries no discovery hints."""
    ex = await exchange(client, "POST", server_url, policy=policy, headers=MCP_HEADERS, content=INITIALIZE, follow_redirects=False)
    if not ex.ok:
        raise network_error(ex, f"The MCP server {server_url} could not be reached")
    if ex.status != 401:
        # Some servers guard only some methods, and 2026-07-28 servers may refuse a legacy
        # initialize (400): the well-known PRM URLs can still name the AS.
        return Challenges(ex.status or 0)
    return Challenges.read(ex.status, ex.header_list("www-authenticate"))


class PrmNotFound(ProtocolError):
    """No candidate gave usable PRM; ``absent``: every one answered 404 (no PRM at all, not a broken one)."""

    def __init__(self, message: str, *, absent: bool, tried: list[str], **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.absent = absent
        self.tried = tried


async def fetch_prm(client: httpx.AsyncClient, server_url: str, challenge: Challenges, policy: HttpPolicy) -> tuple[dict[str, Any], str]:
    """The first usable PRM among :func:`prm_candidates` (asked one by one, in order), and its URL."""
    tried, absent = [], True
    for url in dict.fromkeys(url for _loc, url in prm_candidates(server_url, challenge.resource_metadata)):
        if not is_absolute_http_url(url):
            tried.append(f"{url}: not an absolute URL")
            absent = False
            continue
        ex = await exchange(client, "GET", url, policy=policy, headers=JSON_HEADERS)
        doc, _ = usable_document(ex)
        if doc is not None:
            return doc, url
        tried.append(describe_attempt(url, ex))
        absent = absent and ex.ok and ex.status == 404
    unguarded = f" The server answered an unauthenticated MCP request with {challenge.status}, not 401, so it may not use OAuth at all." if challenge.status != 401 else ""
    raise PrmNotFound(
        "No protected-resource metadata found. Tried: " + "; ".join(tried) + "." + unguarded,
        absent=absent,
        tried=tried,
        code=ErrorCode.PRM_NOT_FOUND,
        hint=f"Run atoms-auth doctor --server {server_url}.",
        spec=SPEC_PRM,
        url=server_url,
    )


def check_prm(prm: dict[str, Any], server_url: str, prm_url: str) -> str:
    """The canonical resource; refuse metadata for another resource (RFC 9728 §3.3) or naming no AS."""
    resource, why = prm_resource(prm, server_url, prm_url)
    if resource is None:
        raise ProtocolError(f"The protected-resource metadata at {prm_url} has no resource.", code=ErrorCode.PRM_RESOURCE_MISSING, spec="RFC 9728 §2", url=prm_url)
    if why is not None:
        raise ProtocolError(
            f"The protected-resource metadata is for {resource!r}, which {why} compared with {server_url!r}; a client must not use it.",
            code=ErrorCode.PRM_RESOURCE_MISMATCH,
            hint="The server must publish its own URL as resource (no trailing slash).",
            spec="RFC 9728 §3.3; RFC 8707",
            url=prm_url,
        )
    if not authorization_servers(prm):
        raise ProtocolError("The protected-resource metadata names no authorization_servers.", code=ErrorCode.PRM_NO_AUTHORIZATION_SERVERS, spec="RFC 9728 §2", url=prm_url)
    return resource


async def fetch_as_metadata(client: httpx.AsyncClient, issuer: str, policy: HttpPolicy) -> tuple[dict[str, Any], str]:
    """The first usable AS metadata among :func:`as_metadata_candidates` (asked one by one, in order), checked against ``issuer``."""
    if not is_absolute_http_url(issuer):
        raise ProtocolError(f"The authorization server {issuer!r} is not an absolute URL.", code=ErrorCode.AS_INVALID_ISSUER, spec="RFC 9728 §2")
    if not is_secure_url(issuer) and not policy.allow_insecure:
        raise ProtocolError(
            f"The authorization server {issuer} is not https.",
            code=ErrorCode.AS_INSECURE,
            hint="Use https (or --allow-http for a trusted test setup).",
            spec="MCP 2026-07-28 Security Considerations",
            url=issuer,
        )
    tried = []
    for _kind, url in as_metadata_candidates(issuer):
        ex = await exchange(client, "GET", url, policy=policy, headers=JSON_HEADERS)
        doc, _ = usable_document(ex)
        if doc is None:
            tried.append(describe_attempt(url, ex))
            continue
        if not issuer_matches(doc, issuer):
            # RFC 8414 §3.3: such a document must not be used, and the next URL is not tried either
            raise ProtocolError(
                f"The metadata at {url} names issuer {doc.get('issuer')!r}, not {issuer!r}; it must not be used.{issuer_difference(doc.get('issuer'), issuer)}",
                code=ErrorCode.AS_ISSUER_MISMATCH,
                hint="The server's protected-resource metadata must list the AS's issuer exactly (no trailing slash).",
                spec="RFC 8414 §3.3",
                url=url,
            )
        return doc, url
    raise ProtocolError(
        f"No authorization server metadata for {issuer}. Tried: " + "; ".join(tried) + ".",
        code=ErrorCode.AS_METADATA_NOT_FOUND,
        hint=f"Run atoms-auth doctor --authkit-domain {issuer}.",
        spec=SPEC_AS,
        url=issuer,
    )


def check_as_metadata(metadata: dict[str, Any], *, allow_insecure: bool, browser_flow: bool = True) -> None:
    """What a client needs before it may proceed: for the authorization code flow, PKCE S256 (MCP Authorization
    Code Protection) and both endpoints; for grants without a browser (client credentials, JWT bearer, device
    code), a usable token endpoint (RFC 8414 §2)."""
    if not browser_flow:
        check_endpoints(metadata, allow_insecure=allow_insecure, names=("token_endpoint",))
        return
    methods = metadata.get("code_challenge_methods_supported")
    if not isinstance(methods, list) or "S256" not in methods:
        raise ProtocolError(
            "The authorization server does not advertise PKCE S256 (code_challenge_methods_supported); MCP clients must refuse to proceed.",
            code=ErrorCode.AS_PKCE_UNSUPPORTED,
            hint="Advertise code_challenge_methods_supported: [\"S256\"] in the AS metadata.",
            spec="MCP 2026-07-28 Authorization: Authorization Code Protection",
        )
    check_endpoints(metadata, allow_insecure=allow_insecure)


def check_endpoints(metadata: dict[str, Any], *, allow_insecure: bool, names: tuple[str, ...] = ("authorization_endpoint", "token_endpoint")) -> None:
    """The named endpoints are absolute URLs, https except on loopback (RFC 8414 §2; OAuth 2.1 §1.5)."""
    for name in names:
        value = metadata.get(name)
        if not isinstance(value, str) or not is_absolute_http_url(value):
            raise ProtocolError(f"The AS metadata has no usable {name}.", code=ErrorCode.AS_ENDPOINT_MISSING, spec="RFC 8414 §2")
        if not is_secure_url(value) and not allow_insecure:
            raise ProtocolError(f"The AS's {name} {value} is not https.", code=ErrorCode.AS_INSECURE, hint="Use https (or --allow-http).", spec="OAuth 2.1 §1.5", url=value)


async def discover(
    client: httpx.AsyncClient,
    server_url: str,
    policy: HttpPolicy,
    *,
    prefer_issuer: str | None = None,
    challenge: Challenges | None = None,
    browser_flow: bool = True,
    binding: IssuerBinding | None = None,
) -> Discovered:
    """From the server URL (or a challenge already received on a real MCP request) to usable AS metadata
    (``browser_flow=False``: for a grant that needs only the token endpoint). With ``binding`` (a
    pre-registered client), an AS other than the client's ends discovery before any request to it."""
    if challenge is None:
        challenge = await probe_challenge(client, server_url, policy)
    try:
        prm, prm_url = await fetch_prm(client, server_url, challenge, policy)
    except PrmNotFound as missing:
        # 2025-03-26 servers: a 401 naming no PRM, and none at any well-known URL (all 404)
        if not missing.absent or challenge.status != 401 or challenge.resource_metadata:
            raise
        if binding is not None:  # the origin is the AS there (2025-03-26 Authorization Server Discovery)
            binding.select([origin(server_url)], server_url=server_url)
        return await discover_2025_03_26(client, server_url, policy, challenge)
    resource = check_prm(prm, server_url, prm_url)
    named = authorization_servers(prm)
    issuer = binding.select(named, server_url=server_url) if binding is not None else choose_issuer(named, prefer_issuer)
    assert issuer is not None  # check_prm refused PRM without one
    metadata, metadata_url = await fetch_as_metadata(client, issuer, policy)
    check_as_metadata(metadata, allow_insecure=policy.allow_insecure, browser_flow=browser_flow)
    return Discovered(server_url, resource, prm, prm_url, challenge.scope, issuer, metadata, metadata_url)


async def discover_2025_03_26(client: httpx.AsyncClient, server_url: str, policy: HttpPolicy, challenge: Challenges) -> Discovered:
    """The server's origin as its AS (:mod:`.legacy_discovery`); ``resource`` is the server URL as given."""
    found = await find_legacy_as(client, server_url, policy, "every well-known URL answered 404")
    if found.kind == DEFAULT_ENDPOINTS:
        check_endpoints(found.metadata, allow_insecure=policy.allow_insecure)  # 2025-03-26 requires PKCE of every client: S256 is used
    else:
        check_as_metadata(found.metadata, allow_insecure=policy.allow_insecure)
    return Discovered(server_url, server_url, {}, "", challenge.scope, found.issuer, found.metadata, found.metadata_url or "", notes=[found.note], fallback=found.kind)


async def discover_issuer(client: httpx.AsyncClient, issuer: str, policy: HttpPolicy) -> tuple[dict[str, Any], str]:
    """AS metadata only (``--authkit-domain`` without a server)."""
    metadata, url = await fetch_as_metadata(client, issuer, policy)
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
