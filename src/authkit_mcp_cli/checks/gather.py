"""Gather doctor's evidence: only the probes the selected checks declare, with
independent probes overlapping.

Every wanted probe starts at once and waits only for what it builds on
(``probes.REQUIRES``): the challenge, the well-known PRM URLs, the CORS, compat
and token probes go out together; AS metadata discovery starts when an issuer is
known (from ``--authkit-domain`` at once, else speculatively from the first
well-known PRM that names one); JWKS and CORS follow each AS document; forged
tokens follow the JWKS. The critical path is challenge/PRM -> AS metadata ->
JWKS -> forged tokens.

The typed server URL is probed at once; when its protected-resource metadata
names a canonical URL that differs only in form (``checks.canonical``), the
probes start again there and the first run's answers are dropped (identical
requests are shared), so no probe waits for that answer in the usual case.
The stranger's RSA key for the forged tokens is made in a thread, once per run,
while the JWKS is on its way.

The rules (which URLs, which answer counts) are ``discovery``'s, shared with the
client. A probe that crashes is recorded in ``Evidence.probe_errors``, and so is
every probe built on it; the run goes on and the checks that need it report
``error``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

import httpx

from authkit_mcp_cli.challenge import Challenges
from authkit_mcp_cli.checks import canonical
from authkit_mcp_cli.checks.evidence import BROWSER_ORIGIN, MCP_REQUEST_HEADERS, Evidence, TokenEvidence
from authkit_mcp_cli.checks.gatherer import Gatherer, PrerequisiteCrashed, StrangerKey
from authkit_mcp_cli.checks.probes import LOGIN_PROBES, Probe, closure
from authkit_mcp_cli.config import Target
from authkit_mcp_cli.discovery import INITIALIZE, JSON_HEADERS, MCP_HEADERS, authorization_servers, first_usable, prm_candidates, usable_document
from authkit_mcp_cli.http import Exchange, HttpPolicy
from authkit_mcp_cli.urls import OAUTH_AS_WELL_KNOWN, OIDC_WELL_KNOWN, is_absolute_http_url, origin, prm_urls

if TYPE_CHECKING:
    from authkit_mcp_cli.checks.token_probe import LoginPlan

__all__ = ["Gatherer", "PrerequisiteCrashed", "StrangerKey", "gather"]
MAX_AUTHORIZATION_SERVERS = 5


async def gather(
    target: Target,
    client: httpx.AsyncClient,
    policy: HttpPolicy,
    probes: Iterable[Probe] = tuple(Probe),
    *,
    login: LoginPlan | None = None,
    as_kind: str | None = None,
    stranger: StrangerKey | None = None,
) -> Evidence:
    """The evidence ``probes`` (and what they build on) yield; by default all of it.
    The login probes need ``login`` (doctor --login); without it they learn nothing.
    ``stranger`` shares one forged-token key between the servers of one run."""
    wanted = closure(probes, issuer_given=bool(target.authkit_domain))
    g = Gatherer(target, client, policy, wanted, login, runners=RUNNERS, stranger=stranger)
    g.ev.as_kind = as_kind
    if not (target.server_url and wanted & SERVER_PROBES):
        g.superseded.set_result(False)
        await g.run()
        await g.settle()
        return g.finish()
    # The typed URL is probed at once, while its path-inserted PRM (the first request the PRM probe
    # sends anyway) says whether the server's canonical URL differs from it only in form.
    first = asyncio.ensure_future(g.run())
    found = await _canonical(g, target.server_url)
    g.superseded.set_result(found is not None)
    if found is None:
        await first
    else:  # start again at the canonical URL; the first run finishes unread (its requests are shared)
        resource, differences = found
        g2 = Gatherer(replace(target, server_url=resource), client, policy, wanted, login, runners=RUNNERS, shared=g)
        g2.ev.as_kind, g2.ev.typed_server, g2.ev.url_differences = as_kind, target.server_url, differences
        g2.superseded.set_result(False)
        await g2.run()
        await first
        g = g2
    await g.settle()
    await g.stranger.settle()
    return g.finish()


# --- the probes: each fills its part of the evidence --------------------------------

SERVER_PROBES = frozenset(Probe) - {Probe.AS_METADATA, Probe.AS_ALL, Probe.AS_JWKS, Probe.AS_CORS}


async def _canonical(g: Gatherer, typed: str) -> tuple[str, list[str]] | None:
    """(the canonical URL, how the typed one differs) when they differ only in form (``checks.canonical``).
    The path-inserted PRM request is the one the PRM probe sends anyway."""
    doc, _ = usable_document(await g.request("GET", prm_urls(typed)[0], JSON_HEADERS))
    resource = doc.get("resource") if doc else None
    if isinstance(resource, str) and (found := canonical.differences(typed, resource)):
        return resource, found
    return None


def _post_initialize(g: Gatherer, server: str, extra_headers: dict[str, str] | None = None) -> asyncio.Task[Exchange]:
    return g.request("POST", server, {**MCP_HEADERS, **(extra_headers or {})}, INITIALIZE, follow=False)


async def _challenge(g: Gatherer) -> None:
    ev, server = g.ev, g.ev.target.server_url
    if not server:
        return
    ev.challenge = await _post_initialize(g, server)
    header_values = ev.challenge.header_list("www-authenticate") if ev.challenge.ok else []
    if header_values:
        ev.challenges = Challenges.read(ev.challenge.status, header_values)


async def _prm(g: Gatherer) -> None:
    ev, server = g.ev, g.ev.target.server_url
    if not server:
        return
    # The well-known URLs go out with the challenge; only the header's URL waits for it.
    tasks = {}
    for location, url in prm_candidates(server, None):
        ev.prm_urls[location] = url
        tasks[location] = g.request("GET", url, JSON_HEADERS)
    speculate = Probe.AS_ALL in g.wanted or (Probe.AS_METADATA in g.wanted and not ev.target.authkit_domain)
    if speculate:
        for task in tasks.values():
            g.speculate(_discover_named(g, task))
    await g.need(Probe.CHALLENGE)
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


async def _discover_named(g: Gatherer, prm_task: asyncio.Task[Exchange]) -> None:
    """Speculation: as soon as a well-known PRM names authorization servers, discover
    them without waiting for the challenge (keeps the critical path at PRM -> AS -> JWKS)."""
    doc, _ = usable_document(await prm_task)
    limit = MAX_AUTHORIZATION_SERVERS if Probe.AS_ALL in g.wanted else 1
    for issuer in authorization_servers(doc)[:limit]:
        g.discover(issuer)


async def _as_metadata(g: Gatherer) -> None:
    ev = g.ev
    if ev.as_issuer is None:
        await g.need(Probe.PRM)
        servers = ev.prm_issuers
        if servers:
            ev.as_issuer, ev.as_issuer_source = servers[0], "protected-resource metadata"
        elif ev.prm_doc is None and ev.target.server_url:
            # MCP 2025-03-26: without PRM, clients take the server's origin as the AS (here: when it says it is one)
            found = await g.discover(origin(ev.target.server_url))
            if found.metadata is not None and str(found.metadata.get("issuer")).rstrip("/") == found.issuer:
                ev.as_issuer, ev.as_issuer_source = found.issuer, "the server's origin (MCP 2025-03-26: no protected-resource metadata)"
    if ev.as_issuer is not None:
        await g.discover(ev.as_issuer)


async def _as_all(g: Gatherer) -> None:
    await g.need(Probe.PRM)
    await asyncio.gather(*(g.discover(issuer) for issuer in g.ev.prm_issuers[:MAX_AUTHORIZATION_SERVERS]))


async def _as_jwks(g: Gatherer) -> None:
    await g.need(Probe.AS_METADATA)
    if g.ev.as_issuer is not None:
        await g.follow_up(g.ev.as_issuer, Probe.AS_JWKS)


async def _as_cors(g: Gatherer) -> None:
    await g.need(Probe.AS_METADATA)
    if g.ev.as_issuer is not None:
        await g.follow_up(g.ev.as_issuer, Probe.AS_CORS)


async def _server_cors(g: Gatherer) -> None:
    ev, server = g.ev, g.ev.target.server_url
    if not server:
        return
    post = _post_initialize(g, server, {"Origin": BROWSER_ORIGIN})
    preflight_headers = {"Origin": BROWSER_ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": MCP_REQUEST_HEADERS}
    preflight = g.request("OPTIONS", server, preflight_headers, follow=False)
    ev.cors_post, ev.cors_preflight = await post, await preflight


async def _compat(g: Gatherer) -> None:
    ev, server = g.ev, g.ev.target.server_url
    if not server:
        return
    tasks = {kind: g.request("GET", origin(server) + path, JSON_HEADERS) for kind, path in (("oauth", OAUTH_AS_WELL_KNOWN), ("oidc", OIDC_WELL_KNOWN))}
    ev.compat = {kind: await task for kind, task in tasks.items()}


async def _token_probes(g: Gatherer) -> None:
    ev, server = g.ev, g.ev.target.server_url
    if not server:
        return
    credentials = {"garbage": "Bearer garbage", "basic": "Basic YXRvbXM6YXV0aA==", "empty-bearer": "Bearer"}
    tasks = {name: _post_initialize(g, server, {"Authorization": value}) for name, value in credentials.items()}
    ev.token_probes.update({name: await task for name, task in tasks.items()})


async def _forged_tokens(g: Gatherer) -> None:
    ev, server = g.ev, g.ev.target.server_url
    if not server:
        return
    await g.need(Probe.CHALLENGE)
    if ev.challenge is None or not ev.challenge.ok:
        return  # nothing answered: server.rejects-forged-tokens skips, so no key is made
    key = g.stranger.get()  # made while the PRM, AS metadata and JWKS are on their way
    await g.need(Probe.PRM, Probe.AS_JWKS)
    discovery = await g.discover(ev.as_issuer) if ev.as_issuer else None
    from authkit_mcp_cli import forged_tokens

    tokens = forged_tokens.for_evidence(ev, discovery, server, await key)
    tasks = {name: _post_initialize(g, server, {"Authorization": f"Bearer {token}"}) for name, token in tokens.items()}
    ev.token_probes.update({name: await task for name, task in tasks.items()})


# --- doctor --login: after every other probe, one step at a time ---------------------


async def _token(g: Gatherer) -> None:
    ev, server = g.ev, g.ev.target.server_url
    if not server or g.login is None:
        return
    await g.need(Probe.CHALLENGE, Probe.PRM)
    # the login (a browser, perhaps) starts once the unauthenticated probes have answered
    await asyncio.gather(*(g.start(p) for p in g.wanted if p not in LOGIN_PROBES), return_exceptions=True)
    if await g.superseded:
        return  # the run at the canonical URL logs in
    from authkit_mcp_cli.checks import token_probe

    async def get_json(url: str) -> Exchange:
        return await g.request("GET", url, JSON_HEADERS)

    async def metadata_for(issuer: str) -> dict | None:
        return (await g.discover(issuer)).metadata

    ev.token = await token_probe.obtain(g.login, server, get_json, metadata_for)


def _with_token(g: Gatherer) -> tuple[LoginPlan, TokenEvidence] | None:
    te = g.ev.token
    if g.login is None or te is None or te.session is None:
        return None
    return g.login, te


async def _token_use(g: Gatherer) -> None:
    await g.need(Probe.TOKEN)
    if (found := _with_token(g)) is not None:
        from authkit_mcp_cli.checks import token_probe

        await token_probe.use(*found)


async def _token_refresh(g: Gatherer) -> None:
    await g.need(Probe.TOKEN, *([Probe.TOKEN_USE] if Probe.TOKEN_USE in g.wanted else []))
    if (found := _with_token(g)) is not None:
        from authkit_mcp_cli.checks import token_probe

        await token_probe.refresh_twice(*found)


async def _other_resource(g: Gatherer) -> None:
    await g.need(Probe.TOKEN, *(p for p in (Probe.TOKEN_USE, Probe.TOKEN_REFRESH) if p in g.wanted))
    server = g.ev.target.server_url
    if (found := _with_token(g)) is None or server is None:
        return

    async def post(token: str) -> Exchange:
        return await _post_initialize(g, server, {"Authorization": f"Bearer {token}"})

    from authkit_mcp_cli.checks import token_probe

    await token_probe.other_resource_token(*found, post)


RUNNERS: dict[Probe, Callable[[Gatherer], Awaitable[None]]] = {
    Probe.CHALLENGE: _challenge,
    Probe.PRM: _prm,
    Probe.SERVER_CORS: _server_cors,
    Probe.COMPAT: _compat,
    Probe.TOKEN_PROBES: _token_probes,
    Probe.FORGED_TOKENS: _forged_tokens,
    Probe.AS_METADATA: _as_metadata,
    Probe.AS_ALL: _as_all,
    Probe.AS_JWKS: _as_jwks,
    Probe.AS_CORS: _as_cors,
    Probe.TOKEN: _token,
    Probe.TOKEN_USE: _token_use,
    Probe.TOKEN_REFRESH: _token_refresh,
    Probe.OTHER_RESOURCE: _other_resource,
}
