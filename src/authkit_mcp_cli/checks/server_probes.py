"""doctor's probes of the MCP server: the unauthenticated request and its
challenge, protected-resource metadata, the endpoint as a browser calls it, the
server's own AS-metadata copies, and the invalid and forged credentials it must
refuse. Each fills its part of the evidence; ``probe_graph`` says what each
builds on and the engine (``gatherer``) runs it once that is in.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from authkit_mcp_cli.challenge import Challenges
from authkit_mcp_cli.checks import as_probes
from authkit_mcp_cli.checks.evidence import BROWSER_ORIGIN, MCP_REQUEST_HEADERS
from authkit_mcp_cli.checks.probes import Probe
from authkit_mcp_cli.discovery import INITIALIZE, JSON_HEADERS, MCP_HEADERS, authorization_servers, first_usable, prm_candidates, usable_document
from authkit_mcp_cli.http import Exchange
from authkit_mcp_cli.urls import OAUTH_AS_WELL_KNOWN, OIDC_WELL_KNOWN, is_absolute_http_url, origin

if TYPE_CHECKING:
    from authkit_mcp_cli.checks.gatherer import Gatherer


def post_initialize(g: Gatherer, server: str, extra_headers: dict[str, str] | None = None) -> asyncio.Future[Exchange]:
    return g.request("POST", server, {**MCP_HEADERS, **(extra_headers or {})}, INITIALIZE, follow=False)


async def challenge(g: Gatherer) -> None:
    ev, server = g.ev, g.ev.target.server_url
    if not server:
        return
    ev.challenge = await post_initialize(g, server)
    header_values = ev.challenge.header_list("www-authenticate") if ev.challenge.ok else []
    if header_values:
        ev.challenges = Challenges.read(ev.challenge.status, header_values)


def _well_known_prm(g: Gatherer, server: str) -> dict[str, asyncio.Future[Exchange]]:
    return {location: g.request("GET", url, JSON_HEADERS) for location, url in prm_candidates(server, None)}


async def prm_early(g: Gatherer) -> None:
    """The well-known URLs go out with the challenge (only the header's URL waits for it); when the AS
    is wanted, each answer that names authorization servers starts their discovery at once."""
    ev, server = g.ev, g.ev.target.server_url
    if not server:
        return
    speculate = Probe.AS_ALL in g.wanted or (Probe.AS_METADATA in g.wanted and not ev.target.authkit_domain)
    for task in _well_known_prm(g, server).values():
        if speculate:
            g.background(_discover_named(g, task))


async def _discover_named(g: Gatherer, prm_task: asyncio.Future[Exchange]) -> None:
    """Speculation: as soon as a well-known PRM names authorization servers, discover
    them without waiting for the challenge (keeps the critical path at PRM -> AS -> JWKS)."""
    doc, _ = usable_document(await prm_task)
    limit = as_probes.MAX_AUTHORIZATION_SERVERS if Probe.AS_ALL in g.wanted else 1
    for issuer in authorization_servers(doc)[:limit]:
        as_probes.discover(g, issuer)


async def prm(g: Gatherer) -> None:
    ev, server = g.ev, g.ev.target.server_url
    if not server:
        return
    tasks = _well_known_prm(g, server)  # the requests prm_early sent
    ev.prm_urls.update({location: url for location, url in prm_candidates(server, None)})
    header_url = ev.challenges.resource_metadata
    if header_url:
        ev.prm_urls["header"] = header_url
        if is_absolute_http_url(header_url):
            tasks["header"] = g.request("GET", header_url, JSON_HEADERS)
    for location, task in tasks.items():
        ev.prm[location] = await task
    # The document a spec client would use: the header's, else path-inserted, else root.
    chosen = first_usable((loc, ev.prm[loc]) for loc in ("header", "path", "root") if loc in ev.prm)
    if chosen is not None:
        ev.prm_location, ev.prm_doc = chosen


async def prm_cors(g: Gatherer) -> None:
    """The PRM document a spec client uses, fetched as a browser-based client does (with an Origin)."""
    ev = g.ev
    url = ev.prm_urls.get(ev.prm_location) if ev.prm_location else None
    if url:
        ev.prm_cors = await g.request("GET", url, {**JSON_HEADERS, "Origin": BROWSER_ORIGIN})


async def server_cors(g: Gatherer) -> None:
    ev, server = g.ev, g.ev.target.server_url
    if not server:
        return
    post = post_initialize(g, server, {"Origin": BROWSER_ORIGIN})
    preflight_headers = {"Origin": BROWSER_ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": MCP_REQUEST_HEADERS}
    preflight = g.request("OPTIONS", server, preflight_headers, follow=False)
    ev.cors_post, ev.cors_preflight = await post, await preflight


async def compat(g: Gatherer) -> None:
    ev, server = g.ev, g.ev.target.server_url
    if not server:
        return
    tasks = {kind: g.request("GET", origin(server) + path, JSON_HEADERS) for kind, path in (("oauth", OAUTH_AS_WELL_KNOWN), ("oidc", OIDC_WELL_KNOWN))}
    ev.compat = {kind: await task for kind, task in tasks.items()}


async def token_probes(g: Gatherer) -> None:
    ev, server = g.ev, g.ev.target.server_url
    if not server:
        return
    credentials = {"garbage": "Bearer garbage", "basic": "Basic YXRvbXM6YXV0aA==", "empty-bearer": "Bearer"}
    tasks = {name: post_initialize(g, server, {"Authorization": value}) for name, value in credentials.items()}
    ev.token_probes.update({name: await task for name, task in tasks.items()})


def _answered(g: Gatherer) -> bool:
    return bool(g.ev.target.server_url) and g.ev.challenge is not None and g.ev.challenge.ok


async def forged_tokens_early(g: Gatherer) -> None:
    """The stranger's key is made while the PRM, AS metadata and JWKS are on their way, once the
    server has answered at all (nothing answered: server.rejects-forged-tokens skips, so no key is made)."""
    await g.need(Probe.CHALLENGE)
    if _answered(g):
        g.stranger.get()


async def forged_tokens(g: Gatherer) -> None:
    ev, server = g.ev, g.ev.target.server_url
    if not server or not _answered(g):
        return
    key = g.stranger.get()
    discovery = await as_probes.discover(g, ev.as_issuer) if ev.as_issuer else None
    from authkit_mcp_cli import forged_tokens as forge

    tokens = forge.for_evidence(ev, discovery, server, await key)
    tasks = {name: post_initialize(g, server, {"Authorization": f"Bearer {token}"}) for name, token in tokens.items()}
    ev.token_probes.update({name: await task for name, task in tasks.items()})
