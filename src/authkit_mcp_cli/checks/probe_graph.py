"""doctor's probes as one table: how each runs and what it builds on. The table
feeds both ``doctor --check``'s closure (the probes a selection needs, and what
those build on) and the engine's schedule (``gatherer``: a probe starts once
what it needs is in). The critical path is challenge/PRM -> AS metadata ->
JWKS -> forged tokens.
"""

from __future__ import annotations

from collections.abc import Iterable

from authkit_mcp_cli.checks import active_probes, as_probes, login_probes, server_probes
from authkit_mcp_cli.checks.gatherer import ProbeSpec
from authkit_mcp_cli.checks.probes import Probe


def of(*probes: Probe) -> frozenset[Probe]:
    return frozenset(probes)


PROBES: dict[Probe, ProbeSpec] = {
    Probe.CHALLENGE: ProbeSpec("server", server_probes.challenge),
    # the challenge may name a PRM URL; the well-known URLs go out with it
    Probe.PRM: ProbeSpec("server", server_probes.prm, needs=of(Probe.CHALLENGE), early=server_probes.prm_early),
    Probe.AS_METADATA: ProbeSpec("as", as_probes.metadata, needs_without_issuer=of(Probe.PRM)),
    Probe.AS_ALL: ProbeSpec("as", as_probes.every_listed, needs=of(Probe.PRM)),
    Probe.AS_JWKS: ProbeSpec("as", as_probes.jwks, needs=of(Probe.AS_METADATA)),
    Probe.AS_CORS: ProbeSpec("as", as_probes.cors, needs=of(Probe.AS_METADATA)),
    Probe.PRM_CORS: ProbeSpec("server", server_probes.prm_cors, needs=of(Probe.PRM)),
    Probe.SERVER_CORS: ProbeSpec("server", server_probes.server_cors),
    Probe.COMPAT: ProbeSpec("server", server_probes.compat),
    Probe.TOKEN_PROBES: ProbeSpec("server", server_probes.token_probes),
    # scopes, resource, issuer and kid; the stranger's key is made while they are on their way
    Probe.FORGED_TOKENS: ProbeSpec("server", server_probes.forged_tokens, needs=of(Probe.CHALLENGE, Probe.PRM, Probe.AS_JWKS), early=server_probes.forged_tokens_early),
    # doctor --login: what was asked for (resource and scopes); then one token at a time:
    # use it, then refresh it, then trade the refresh token for another resource
    Probe.TOKEN: ProbeSpec("server", login_probes.token, needs=of(Probe.CHALLENGE, Probe.PRM), last=True),
    Probe.TOKEN_USE: ProbeSpec("server", login_probes.token_use, needs=of(Probe.TOKEN), last=True),
    Probe.TOKEN_REFRESH: ProbeSpec("server", login_probes.token_refresh, needs=of(Probe.TOKEN), after=of(Probe.TOKEN_USE), last=True),
    Probe.OTHER_RESOURCE: ProbeSpec("server", login_probes.other_resource, needs=of(Probe.TOKEN), after=of(Probe.TOKEN_USE, Probe.TOKEN_REFRESH), last=True),
    # doctor --active: the server's probes, then the AS's (the reused refresh token may end the login's grant, so it goes last)
    Probe.ACTIVE_SERVER: ProbeSpec("server", active_probes.server, needs=of(Probe.TOKEN), after=of(Probe.TOKEN_USE, Probe.TOKEN_REFRESH, Probe.OTHER_RESOURCE), last=True),
    Probe.ACTIVE_AS: ProbeSpec("server", active_probes.authorization_server, needs=of(Probe.TOKEN), after=of(Probe.TOKEN_USE, Probe.TOKEN_REFRESH, Probe.OTHER_RESOURCE, Probe.ACTIVE_SERVER), last=True),
}


def requires(probe: Probe, *, issuer_given: bool) -> frozenset[Probe]:
    """The probes ``probe`` builds on."""
    return PROBES[probe].requires(issuer_given=issuer_given)


def closure(probes: Iterable[Probe], *, issuer_given: bool) -> set[Probe]:
    """``probes`` and everything they build on."""
    todo, found = list(probes), set()
    while todo:
        probe = todo.pop()
        if probe not in found:
            found.add(probe)
            todo.extend(requires(probe, issuer_given=issuer_given))
    return found


def asks_the_server(probes: Iterable[Probe]) -> bool:
    return any(PROBES[p].peer == "server" for p in probes)
