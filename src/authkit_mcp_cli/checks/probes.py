"""What doctor can ask the remotes. Each check declares the probes it reads,
so ``doctor --check ID`` sends only the requests that check needs."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Probe(StrEnum):
    # In dependency order: a probe comes after every probe it builds on.
    CHALLENGE = "challenge"  # POST initialize without a token: the 401 and its challenge (RFC 6750 §3)
    PRM = "prm"  # protected-resource metadata at every candidate URL (RFC 9728 §3.1, §5.1)
    AS_METADATA = "as-metadata"  # every metadata URL of the chosen issuer (RFC 8414 §3.1)
    AS_ALL = "as-all"  # the metadata of every issuer PRM lists, not only the chosen one
    AS_JWKS = "as-jwks"  # the chosen issuer's jwks_uri
    AS_CORS = "as-cors"  # the chosen issuer's metadata URL as a browser fetches it
    SERVER_CORS = "server-cors"  # the MCP endpoint as a browser calls it: Origin, preflight
    COMPAT = "compat"  # the server's own AS-metadata copies at its origin (MCP 2025-03-26 fallback)
    TOKEN_PROBES = "token-probes"  # garbage, Basic and empty bearer credentials
    FORGED_TOKENS = "forged-tokens"  # alg none, a stranger's key, HS256 confusion, expired: builds an RSA key
    # doctor --login only (not read-only): after every other probe has answered
    TOKEN = "token"  # a real access token: the stored login, else the login flow; the AS's JWKS
    TOKEN_USE = "token-use"  # an authenticated initialize and tools/list with it
    TOKEN_REFRESH = "token-refresh"  # a refresh (RFC 6749 §6), and one more with a rotated refresh token
    OTHER_RESOURCE = "other-resource-token"  # a real token for another resource (refresh with another resource), sent to the server

LOGIN_PROBES = frozenset({Probe.TOKEN, Probe.TOKEN_USE, Probe.TOKEN_REFRESH, Probe.OTHER_RESOURCE})


# What each probe builds on. The issuer comes from PRM only when none was given,
# so that edge is added by closure().
REQUIRES: dict[Probe, frozenset[Probe]] = {
    Probe.PRM: frozenset({Probe.CHALLENGE}),  # the challenge may name a PRM URL
    Probe.AS_ALL: frozenset({Probe.PRM}),
    Probe.AS_JWKS: frozenset({Probe.AS_METADATA}),
    Probe.AS_CORS: frozenset({Probe.AS_METADATA}),
    Probe.FORGED_TOKENS: frozenset({Probe.CHALLENGE, Probe.PRM, Probe.AS_JWKS}),  # scopes, resource, issuer and kid
    Probe.TOKEN: frozenset({Probe.CHALLENGE, Probe.PRM}),  # what was asked for: resource and scopes
    # one token at a time: use it, then refresh it, then trade the refresh token for another resource
    Probe.TOKEN_USE: frozenset({Probe.TOKEN}),
    Probe.TOKEN_REFRESH: frozenset({Probe.TOKEN}),
    Probe.OTHER_RESOURCE: frozenset({Probe.TOKEN}),
}


def requires(probe: Probe, *, issuer_given: bool) -> frozenset[Probe]:
    """The probes ``probe`` waits for."""
    direct = REQUIRES.get(probe, frozenset())
    if probe is Probe.AS_METADATA and not issuer_given:
        return direct | {Probe.PRM}
    return direct


def closure(probes: Iterable[Probe], *, issuer_given: bool) -> set[Probe]:
    """``probes`` and everything they build on."""
    todo, found = list(probes), set()
    while todo:
        probe = todo.pop()
        if probe not in found:
            found.add(probe)
            todo.extend(requires(probe, issuer_given=issuer_given))
    return found
