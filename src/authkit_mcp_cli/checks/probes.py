"""What doctor can ask the remotes, by name. Each check declares the probes it
reads, so ``doctor --check ID`` sends only the requests that check needs;
how each probe runs and what it builds on is ``checks.probe_graph``."""

from __future__ import annotations

from enum import StrEnum


class Probe(StrEnum):
    # In dependency order: a probe comes after every probe it builds on (probe_graph).
    CHALLENGE = "challenge"  # POST initialize without a token: the 401 and its challenge (RFC 6750 §3)
    PRM = "prm"  # protected-resource metadata at every candidate URL (RFC 9728 §3.1, §5.1)
    AS_METADATA = "as-metadata"  # every metadata URL of the chosen issuer (RFC 8414 §3.1)
    AS_ALL = "as-all"  # the metadata of every issuer PRM lists, not only the chosen one
    AS_JWKS = "as-jwks"  # the chosen issuer's jwks_uri
    AS_CORS = "as-cors"  # the chosen issuer's metadata URL as a browser fetches it
    PRM_CORS = "prm-cors"  # the chosen PRM URL as a browser fetches it: GET with Origin
    SERVER_CORS = "server-cors"  # the MCP endpoint as a browser calls it: Origin, preflight
    COMPAT = "compat"  # the server's own AS-metadata copies at its origin (MCP 2025-03-26 fallback)
    TOKEN_PROBES = "token-probes"  # garbage, Basic and empty bearer credentials
    FORGED_TOKENS = "forged-tokens"  # alg none, a stranger's key, HS256 confusion, expired: builds an RSA key
    # doctor --login only (not read-only): after every other probe has answered
    TOKEN = "token"  # a real access token: the stored login, else the login flow; the AS's JWKS
    TOKEN_USE = "token-use"  # an authenticated initialize and tools/list with it
    TOKEN_REFRESH = "token-refresh"  # a refresh (RFC 6749 §6), and one more with a rotated refresh token
    OTHER_RESOURCE = "other-resource-token"  # a real token for another resource (refresh with another resource), sent to the server
    # doctor --active only: what the server and its AS DO with the real token, login and client (issue 22)
    ACTIVE_SERVER = "active-server"  # the token in the query, a session id without the token, an expired token
    ACTIVE_AS = "active-as"  # token requests: a made-up password grant, a bad and a reused refresh token


LOGIN_PROBES = frozenset({Probe.TOKEN, Probe.TOKEN_USE, Probe.TOKEN_REFRESH, Probe.OTHER_RESOURCE, Probe.ACTIVE_SERVER, Probe.ACTIVE_AS})
ACTIVE_PROBES = frozenset({Probe.ACTIVE_SERVER, Probe.ACTIVE_AS})
