"""doctor's authorization-server probes: the metadata of the chosen issuer (or
of every issuer PRM lists), its JWKS, and its metadata URL as a browser fetches
it (CORS). One discovery per issuer string per run, shared by every probe (and
by the restart at the canonical URL); the JWKS and CORS requests a run wants
start the moment that issuer's metadata is in, whichever probe asked for it.
The URLs and which answer counts are ``discovery``'s rules, shared with the client.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from authkit_mcp_cli.checks.evidence import BROWSER_ORIGIN, ASDiscovery
from authkit_mcp_cli.checks.probes import Probe
from authkit_mcp_cli.discovery import JSON_HEADERS, as_metadata_candidates, first_usable, usable_document
from authkit_mcp_cli.legacy_discovery import origin_is_issuer
from authkit_mcp_cli.urls import is_absolute_http_url, origin

if TYPE_CHECKING:
    from authkit_mcp_cli.checks.gatherer import Gatherer

MAX_AUTHORIZATION_SERVERS = 5
DISCOVERY = "as-discovery"  # Gatherer.once's kind for one issuer's discovery
FOLLOW_UPS = {Probe.AS_JWKS: "as-jwks", Probe.AS_CORS: "as-cors"}  # ... and for the requests that follow it


def discover(g: Gatherer, issuer: str) -> asyncio.Future[ASDiscovery]:
    """AS metadata for ``issuer``, once per run; the wanted follow-ups start the moment it is in."""

    def start() -> asyncio.Task[ASDiscovery]:
        task = asyncio.ensure_future(_discover(g, issuer))
        if Probe.AS_JWKS in g.wanted:
            g.once(FOLLOW_UPS[Probe.AS_JWKS], issuer, lambda: _fetch_jwks(g, task))
        if Probe.AS_CORS in g.wanted:
            g.once(FOLLOW_UPS[Probe.AS_CORS], issuer, lambda: _fetch_cors(g, task))
        return task

    return g.once(DISCOVERY, issuer, start)


def discoveries(g: Gatherer) -> dict[str, ASDiscovery]:
    """Every discovery that ended (a crashed one is reported through the probe that awaited it)."""
    return g.results(DISCOVERY)


async def _discover(g: Gatherer, issuer: str) -> ASDiscovery:
    """MCP Authorization Server Discovery: every URL of the ordered list, at once."""
    found = ASDiscovery(issuer=issuer)
    if not is_absolute_http_url(issuer):
        return found
    urls = as_metadata_candidates(issuer)
    answers = await asyncio.gather(*(g.request("GET", url, JSON_HEADERS) for _kind, url in urls))
    found.attempts = [(kind, url, ex) for (kind, url), ex in zip(urls, answers, strict=True)]
    for kind, url, ex in found.attempts:
        doc, _ = usable_document(ex)
        if doc is not None:
            found.docs.setdefault(kind, doc)
            found.doc_urls.setdefault(kind, url)
    first = first_usable((url, ex) for _kind, url, ex in found.attempts)
    if first is not None:
        found.metadata_url, found.metadata = first
    return found


async def _fetch_jwks(g: Gatherer, discovery: asyncio.Future[ASDiscovery]) -> None:
    found = await discovery
    uri = (found.metadata or {}).get("jwks_uri")
    if isinstance(uri, str) and is_absolute_http_url(uri):
        found.jwks = await g.request("GET", uri, JSON_HEADERS)


async def _fetch_cors(g: Gatherer, discovery: asyncio.Future[ASDiscovery]) -> None:
    found = await discovery
    if found.metadata_url is None:
        return
    get = g.request("GET", found.metadata_url, {**JSON_HEADERS, "Origin": BROWSER_ORIGIN})
    preflight_headers = {"Origin": BROWSER_ORIGIN, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "mcp-protocol-version"}
    preflight = g.request("OPTIONS", found.metadata_url, preflight_headers, follow=False)
    found.cors_get, found.cors_preflight = await get, await preflight


# --- the probes ------------------------------------------------------------------------


async def metadata(g: Gatherer) -> None:
    """The chosen issuer: --authkit-domain, else PRM's first, else (MCP 2025-03-26, no PRM) the server's origin when it says it is one."""
    ev = g.ev
    if ev.as_issuer is None:  # PRM is in (probe_graph: needed when no issuer was given)
        servers = ev.prm_issuers
        if servers:
            ev.as_issuer, ev.as_issuer_source = servers[0], "protected-resource metadata"
        elif ev.prm_doc is None and ev.target.server_url:
            found = await discover(g, origin(ev.target.server_url))
            if origin_is_issuer(found.metadata, found.issuer):
                ev.as_issuer, ev.as_issuer_source = found.issuer, "the server's origin (MCP 2025-03-26: no protected-resource metadata)"
    if ev.as_issuer is not None:
        await discover(g, ev.as_issuer)


async def every_listed(g: Gatherer) -> None:
    await asyncio.gather(*(discover(g, issuer) for issuer in g.ev.prm_issuers[:MAX_AUTHORIZATION_SERVERS]))


async def jwks(g: Gatherer) -> None:
    await _follow_up(g, Probe.AS_JWKS)


async def cors(g: Gatherer) -> None:
    await _follow_up(g, Probe.AS_CORS)


async def _follow_up(g: Gatherer, probe: Probe) -> None:
    """Wait for the JWKS or CORS requests that followed the chosen issuer's metadata."""
    if g.ev.as_issuer is not None:
        task = g.started(FOLLOW_UPS[probe], g.ev.as_issuer)
        if task is not None:
            await task
