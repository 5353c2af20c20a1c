"""Gather doctor's evidence: only the probes the selected checks declare, with
independent probes overlapping.

Every wanted probe starts at once and waits only for what it builds on
(``probe_graph.PROBES``): the challenge, the well-known PRM URLs, the CORS,
compat and token probes go out together; AS metadata discovery starts when an
issuer is known (from ``--authkit-domain`` at once, else speculatively from the
first well-known PRM that names one); JWKS and CORS follow each AS document;
forged tokens follow the JWKS. The probes are ``server_probes``, ``as_probes``
and ``login_probes``; the engine that runs them is ``gatherer``.

The typed server URL is probed at once; when its protected-resource metadata
names a canonical URL that differs only in form (``checks.canonical``), the
probes start again there and the first run's answers are dropped (identical
requests are shared), so no probe waits for that answer in the usual case.
The stranger's RSA key for the forged tokens is made in a thread, once per run,
while the JWKS is on its way.

A probe that crashes is recorded in ``Evidence.probe_errors``, and so is every
probe built on it; the run goes on and the checks that need it report ``error``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

import httpx

from authkit_mcp_cli.checks import as_probes, canonical
from authkit_mcp_cli.checks.evidence import Evidence
from authkit_mcp_cli.checks.gatherer import Gatherer, PrerequisiteCrashed
from authkit_mcp_cli.checks.probe_graph import PROBES, asks_the_server, closure
from authkit_mcp_cli.checks.probes import Probe
from authkit_mcp_cli.checks.stranger_key import StrangerKey
from authkit_mcp_cli.config import Target
from authkit_mcp_cli.discovery import JSON_HEADERS, usable_document
from authkit_mcp_cli.http import HttpPolicy
from authkit_mcp_cli.urls import prm_urls

if TYPE_CHECKING:
    from authkit_mcp_cli.checks.token_probe import LoginPlan

__all__ = ["Gatherer", "PrerequisiteCrashed", "StrangerKey", "gather"]


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
    g = Gatherer(target, client, policy, wanted, login, graph=PROBES, stranger=stranger or StrangerKey())
    g.ev.as_kind = as_kind
    if not (target.server_url and asks_the_server(wanted)):
        g.superseded.set_result(False)
        await g.run()
        await g.settle()
        return _finish(g)
    # The typed URL is probed at once, while its path-inserted PRM (the first request the PRM probe
    # sends anyway) says whether the server's canonical URL differs from it only in form.
    first = asyncio.ensure_future(g.run())
    found = await _canonical(g, target.server_url)
    g.superseded.set_result(found is not None)
    if found is None:
        await first
    else:  # start again at the canonical URL; the first run finishes unread (its requests are shared)
        resource, differences = found
        g2 = Gatherer(replace(target, server_url=resource), client, policy, wanted, login, graph=PROBES, stranger=g.stranger, shared=g)
        g2.ev.as_kind, g2.ev.typed_server, g2.ev.url_differences = as_kind, target.server_url, differences
        g2.superseded.set_result(False)
        await g2.run()
        await first
        g = g2
    await g.settle()
    await g.stranger.settle()
    return _finish(g)


def _finish(g: Gatherer) -> Evidence:
    ev = g.finish()
    ev.discoveries = as_probes.discoveries(g)
    return ev


async def _canonical(g: Gatherer, typed: str) -> tuple[str, list[str]] | None:
    """(the canonical URL, how the typed one differs) when they differ only in form (``checks.canonical``).
    The path-inserted PRM request is the one the PRM probe sends anyway."""
    doc, _ = usable_document(await g.request("GET", prm_urls(typed)[0], JSON_HEADERS))
    resource = doc.get("resource") if doc else None
    if isinstance(resource, str) and (found := canonical.differences(typed, resource)):
        return resource, found
    return None
