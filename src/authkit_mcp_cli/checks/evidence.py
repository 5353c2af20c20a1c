"""Gather doctor's evidence once, with independent probes overlapping.

Probes start as soon as what they depend on is known: the challenge and all
protected-resource metadata (PRM) candidates go out together; AS metadata
discovery starts when an issuer is known (from ``--authkit-domain`` at once,
from PRM otherwise); JWKS and CORS probes follow each AS document; forged
tokens follow the JWKS. The critical path is challenge/PRM -> AS metadata ->
JWKS -> forged tokens. Checks then read this data and never do I/O.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx

from authkit_mcp_cli import forged_tokens
from authkit_mcp_cli.challenge import Challenge, ChallengeParseError, find_bearer, parse_www_authenticate
from authkit_mcp_cli.config import Target
from authkit_mcp_cli.discovery import INITIALIZE, MCP_HEADERS
from authkit_mcp_cli.http import Exchange, HttpPolicy, exchange
from authkit_mcp_cli.trace import TraceWriter
from authkit_mcp_cli.urls import OAUTH_AS_WELL_KNOWN, OIDC_WELL_KNOWN, as_metadata_urls, is_absolute_http_url, origin, prm_urls

# The MCP Inspector's origin: what a browser-based client sends.
BROWSER_ORIGIN = "http://localhost:6274"
MCP_REQUEST_HEADERS = "authorization, content-type, mcp-protocol-version, mcp-session-id"
MAX_AUTHORIZATION_SERVERS = 5


@dataclass
class ASDiscovery:
    """Everything learned about one AS issuer string."""

    issuer: str
    attempts: list[tuple[str, str, Exchange]] = field(default_factory=list)  # (kind, url, exchange), spec order
    metadata: dict[str, Any] | None = None  # the first usable document in spec order
    metadata_url: str | None = None
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)  # first usable per kind: oauth / oidc
    doc_urls: dict[str, str] = field(default_factory=dict)
    jwks: Exchange | None = None
    cors_get: Exchange | None = None
    cors_preflight: Exchange | None = None

    def attempt_errors(self) -> list[str]:
        out = []
        for _kind, url, ex in self.attempts:
            doc, err = ex.json_object()
            if ex.ok and ex.status == 200 and doc is not None:
                out.append(f"{url}: 200, usable")
            else:
                status = f"{ex.status}" if ex.status is not None else "no answer"
                out.append(f"{url}: {status}" + (f" ({err})" if err and ex.status == 200 else f" ({ex.error})" if ex.error else ""))
        return out


@dataclass
class Evidence:
    target: Target
    # MCP server
    challenge: Exchange | None = None
    bearer: Challenge | None = None
    challenges: list[Challenge] = field(default_factory=list)
    challenge_parse_error: str | None = None
    cors_post: Exchange | None = None
    cors_preflight: Exchange | None = None
    prm_urls: dict[str, str] = field(default_factory=dict)  # location -> url: header, path, root
    prm: dict[str, Exchange] = field(default_factory=dict)  # location -> exchange
    prm_doc: dict[str, Any] | None = None
    prm_location: str | None = None
    compat: dict[str, Exchange] = field(default_factory=dict)  # oauth / oidc
    token_probes: dict[str, Exchange] = field(default_factory=dict)
    # authorization server
    as_issuer: str | None = None
    as_issuer_source: str | None = None  # "--authkit-domain" / env var name / "protected-resource metadata"
    discoveries: dict[str, ASDiscovery] = field(default_factory=dict)
    request_count: int = 0

    @property
    def discovery(self) -> ASDiscovery | None:
        return self.discoveries.get(self.as_issuer) if self.as_issuer else None

    @property
    def prm_servers(self) -> list[Any]:
        if not self.prm_doc:
            return []
        servers = self.prm_doc.get("authorization_servers")
        return servers if isinstance(servers, list) else []


class Gatherer:
    """Runs probes, sharing identical requests and counting the dependency depth."""

    def __init__(self, client: httpx.AsyncClient, policy: HttpPolicy, trace: TraceWriter | None) -> None:
        self.client = client
        self.policy = policy
        self.trace = trace
        self._requests: dict[tuple[str, str, tuple[tuple[str, str], ...], bytes | None], asyncio.Task[Exchange]] = {}
        self._discoveries: dict[str, asyncio.Task[ASDiscovery]] = {}
        self.count = 0

    def request(self, method: str, url: str, headers: dict[str, str] | None = None, content: bytes | None = None, *, follow: bool = True) -> asyncio.Task[Exchange]:
        key = (method, url, tuple(sorted((headers or {}).items())), content)
        if key not in self._requests:
            self.count += 1
            self._requests[key] = asyncio.ensure_future(
                exchange(self.client, method, url, policy=self.policy, headers=headers, content=content, follow_redirects=follow, trace=self.trace)
            )
        return self._requests[key]

    def discover(self, issuer: str) -> asyncio.Task[ASDiscovery]:
        if issuer not in self._discoveries:
            self._discoveries[issuer] = asyncio.ensure_future(self._discover(issuer))
        return self._discoveries[issuer]

    async def all_discoveries(self) -> dict[str, ASDiscovery]:
        """Every discovery started, speculative ones included, once finished."""
        results = await asyncio.gather(*self._discoveries.values())
        return dict(zip(self._discoveries, results, strict=True))

    async def _discover(self, issuer: str) -> ASDiscovery:
        """MCP Authorization Server Discovery: every URL of the ordered list, at once."""
        found = ASDiscovery(issuer=issuer)
        if not is_absolute_http_url(issuer):
            return found
        urls = as_metadata_urls(issuer)
        tasks = [self.request("GET", url, {"Accept": "application/json"}) for _kind, url in urls]
        for (kind, url), ex in zip(urls, await asyncio.gather(*tasks), strict=True):
            found.attempts.append((kind, url, ex))
            doc, _err = ex.json_object()
            if ex.status == 200 and doc is not None:
                found.docs.setdefault(kind, doc)
                found.doc_urls.setdefault(kind, url)
                if found.metadata is None:
                    found.metadata, found.metadata_url = doc, url
        if found.metadata is None:
            return found
        follow_ups: list[asyncio.Future[Exchange]] = []
        jwks_uri = found.metadata.get("jwks_uri")
        if isinstance(jwks_uri, str) and is_absolute_http_url(jwks_uri):
            follow_ups.append(self.request("GET", jwks_uri, {"Accept": "application/json"}))
        cors_get = self.request("GET", found.metadata_url, {"Accept": "application/json", "Origin": BROWSER_ORIGIN})
        cors_pre = self.request(
            "OPTIONS",
            found.metadata_url,
            {"Origin": BROWSER_ORIGIN, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "mcp-protocol-version"},
            follow=False,
        )
        found.cors_get, found.cors_preflight = await cors_get, await cors_pre
        if follow_ups:
            found.jwks = await follow_ups[0]
        return found


async def gather(target: Target, client: httpx.AsyncClient, policy: HttpPolicy, trace: TraceWriter | None = None) -> Evidence:
    ev = Evidence(target=target)
    g = Gatherer(client, policy, trace)
    jobs = []
    if target.authkit_domain:
        ev.as_issuer = target.authkit_domain
        ev.as_issuer_source = target.domain_source or "--authkit-domain"
        jobs.append(g.discover(target.authkit_domain))
    if target.server_url:
        jobs.append(asyncio.ensure_future(_server_side(ev, g, target.server_url)))
    await asyncio.gather(*jobs)
    ev.discoveries = await g.all_discoveries()
    ev.request_count = g.count
    return ev


async def _server_side(ev: Evidence, g: Gatherer, server: str) -> None:
    path_url, root_url = prm_urls(server)
    ev.prm_urls["path"], ev.prm_urls["root"] = path_url, root_url
    # Speculative: fetch both well-known PRM locations while the challenge is in flight.
    prm_tasks = {"path": g.request("GET", path_url, {"Accept": "application/json"}), "root": g.request("GET", root_url, {"Accept": "application/json"})}
    challenge = g.request("POST", server, MCP_HEADERS, INITIALIZE, follow=False)
    cors_post = g.request("POST", server, {**MCP_HEADERS, "Origin": BROWSER_ORIGIN}, INITIALIZE, follow=False)
    preflight = g.request(
        "OPTIONS",
        server,
        {"Origin": BROWSER_ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": MCP_REQUEST_HEADERS},
        follow=False,
    )
    compat = {
        "oauth": g.request("GET", origin(server) + OAUTH_AS_WELL_KNOWN, {"Accept": "application/json"}),
        "oidc": g.request("GET", origin(server) + OIDC_WELL_KNOWN, {"Accept": "application/json"}),
    }
    simple_probes = {
        "garbage": g.request("POST", server, {**MCP_HEADERS, "Authorization": "Bearer garbage"}, INITIALIZE, follow=False),
        "basic": g.request("POST", server, {**MCP_HEADERS, "Authorization": "Basic YXRvbXM6YXV0aA=="}, INITIALIZE, follow=False),
        "empty-bearer": g.request("POST", server, {**MCP_HEADERS, "Authorization": "Bearer"}, INITIALIZE, follow=False),
    }

    # Speculative: as soon as a well-known PRM names authorization servers, discover them,
    # without waiting for the challenge (this keeps the critical path at PRM -> AS -> JWKS).
    speculative = [asyncio.ensure_future(_discover_named(g, task)) for task in prm_tasks.values()]

    ev.challenge = await challenge
    header_values = ev.challenge.header_list("www-authenticate") if ev.challenge.ok else []
    if header_values:
        try:
            ev.challenges = parse_www_authenticate(header_values)
            ev.bearer = find_bearer(ev.challenges)
        except ChallengeParseError as exc:
            ev.challenge_parse_error = exc.message
    header_prm = ev.bearer.get("resource_metadata") if ev.bearer else None
    if header_prm:
        ev.prm_urls["header"] = header_prm
        if is_absolute_http_url(header_prm):
            prm_tasks["header"] = g.request("GET", header_prm, {"Accept": "application/json"})
    for location, task in prm_tasks.items():
        ev.prm[location] = await task
    # The document a spec client would use: the header's, else path-inserted, else root.
    for location in ("header", "path", "root"):
        ex = ev.prm.get(location)
        if ex is None or ex.status != 200:
            continue
        doc, _ = ex.json_object()
        if doc is not None:
            ev.prm_doc, ev.prm_location = doc, location
            break

    servers = [s for s in ev.prm_servers if isinstance(s, str)][:MAX_AUTHORIZATION_SERVERS]
    for issuer in servers:
        g.discover(issuer)
    if ev.as_issuer is None and servers:
        ev.as_issuer, ev.as_issuer_source = servers[0], "protected-resource metadata"
    discovery = await g.discover(ev.as_issuer) if ev.as_issuer else None
    for issuer in servers:
        await g.discover(issuer)

    await asyncio.gather(*speculative)
    forged = await asyncio.to_thread(_build_forged_tokens, ev, discovery, server)
    forged_tasks = {name: g.request("POST", server, {**MCP_HEADERS, "Authorization": f"Bearer {tok}"}, INITIALIZE, follow=False) for name, tok in forged.items()}
    ev.cors_post, ev.cors_preflight = await cors_post, await preflight
    ev.compat = {kind: await task for kind, task in compat.items()}
    ev.token_probes = {name: await task for name, task in {**simple_probes, **forged_tasks}.items()}


async def _discover_named(g: Gatherer, prm_task: asyncio.Task[Exchange]) -> None:
    ex = await prm_task
    doc, _ = ex.json_object() if ex.status == 200 else (None, None)
    servers = doc.get("authorization_servers") if doc else None
    if isinstance(servers, list):
        for issuer in [s for s in servers if isinstance(s, str)][:MAX_AUTHORIZATION_SERVERS]:
            g.discover(issuer)


def _build_forged_tokens(ev: Evidence, discovery: ASDiscovery | None, server: str) -> dict[str, str]:
    issuer = ev.as_issuer or origin(server)
    if discovery and discovery.metadata and isinstance(discovery.metadata.get("issuer"), str):
        issuer = discovery.metadata["issuer"]
    resource = ev.prm_doc.get("resource") if ev.prm_doc and isinstance(ev.prm_doc.get("resource"), str) else server
    scopes = [s for s in (ev.prm_doc or {}).get("scopes_supported") or [] if isinstance(s, str)] if isinstance((ev.prm_doc or {}).get("scopes_supported"), list) else []
    if ev.bearer and ev.bearer.get("scope"):
        scopes = ev.bearer.get("scope").split()
    claims = forged_tokens.claims_for(issuer, resource, scopes)
    tokens = {"alg-none": forged_tokens.alg_none(claims)}
    jwk = _first_signing_key(discovery.jwks) if discovery and discovery.jwks else None
    stranger = forged_tokens.fresh_key()
    kid = jwk.get("kid") if jwk else None
    tokens["foreign-key"] = forged_tokens.foreign_key(claims, kid, stranger)
    if jwk:
        hs = forged_tokens.hs256_with_public_key(claims, jwk)
        if hs:
            tokens["hs256-public-key"] = hs
    tokens["expired"] = forged_tokens.foreign_key(forged_tokens.claims_for(issuer, resource, scopes, expired=True), kid, stranger)
    return tokens


def _first_signing_key(jwks: Exchange) -> dict[str, Any] | None:
    doc, _ = jwks.json_object()
    keys = doc.get("keys") if doc else None
    if not isinstance(keys, list):
        return None
    for key in keys:
        if isinstance(key, dict) and key.get("use", "sig") == "sig" and key.get("kty") in ("RSA", "EC", "OKP"):
            return key
    return None
