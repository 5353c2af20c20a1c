"""Issuer identifiers and the AS a pre-registered client is bound to: the
rules only, no I/O (issue #20 item 1). Where a binding comes from (the
configuration, the store) is :mod:`authkit_mcp_cli.client.issuer_binding`.

Issuer identifiers are compared as RFC 8414 §3.3 compares them, except that a
trailing slash and an explicit default port are not a different AS here: they
name the same origin and path, so nothing leaves the AS that issued a client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import UsageError

SPEC = "MCP 2026-07-28 Client Registration (credentials bound to their issuer); RFC 9700 §4.4"
DEFAULT_PORTS = {"https": 443, "http": 80}


@dataclass(frozen=True)
class IssuerBinding:
    """The AS a pre-registered client belongs to, and where atoms-auth learnt it (for messages)."""

    client_id: str
    issuer: str
    source: str  # "--authkit-domain", the environment variable's name, or "the store"

    def select(self, named: list[str], *, server_url: str) -> str:
        """The issuer among ``named`` (the AS(es) the server names) that this client belongs to.
        Raises, before any request to the named AS, when none of them is."""
        for issuer in named:
            if same_issuer(issuer, self.issuer):
                return issuer
        others = ", ".join(named) or "none"
        raise UsageError(
            f"{server_url} names {others} as its authorization server, but client {self.client_id} belongs to {self.issuer} ({self.source}); "
            "atoms-auth stopped before sending that server anything: a client's credentials are valid only at the authorization server that issued them.",
            code=ErrorCode.LOGIN_CLIENT_ISSUER_MISMATCH,
            hint=f"If {server_url} really uses {others}, log in with a client registered there (drop --client-id to register one dynamically, or pass that AS's client and --authkit-domain); "
            f"if it should use {self.issuer}, fix the server's protected-resource metadata (authorization_servers).",
            spec=SPEC,
        )


def issuer_key(url: str) -> tuple[str, str, int | None, str] | None:
    """An issuer identifier in a form where a trailing slash or a default port make no difference."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if port == DEFAULT_PORTS.get(scheme):
        port = None
    return scheme, (parts.hostname or "").lower(), port, parts.path.rstrip("/")


def same_issuer(a: str, b: str) -> bool:
    """Whether two issuer identifiers name the same AS (exact, bar a trailing slash or a default port)."""
    key = issuer_key(a)
    return key is not None and key == issuer_key(b)


def assertion_audience_problem(aud: Any, issuer: str, token_endpoint: Any) -> str | None:
    """Why an assertion must not go to this AS (RFC 7523 §3 item 3: ``aud`` identifies the AS, as its
    issuer or its token endpoint), or None. Checked before sending: an assertion for another AS is a
    credential for it, and this AS could replay it there."""
    audiences = aud if isinstance(aud, list) else [aud]
    names = [a for a in audiences if isinstance(a, str)]
    if not names:
        return "it has no aud claim naming an authorization server"
    accepted = [issuer] + ([token_endpoint] if isinstance(token_endpoint, str) else [])
    if any(same_issuer(a, b) for a in names for b in accepted):
        return None
    return f"its aud {aud!r} names neither this authorization server's issuer {issuer} nor its token endpoint"
