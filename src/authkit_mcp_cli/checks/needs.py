"""What checks work on, for ``@check(needs=...)``: each function returns the
narrowed evidence, or the skip that explains why it is missing."""

from __future__ import annotations

from typing import Any

from authkit_mcp_cli.checks.evidence import Evidence, FoundAS, TokenEvidence
from authkit_mcp_cli.checks.model import Outcome, skip
from authkit_mcp_cli.http import Exchange


def server(ev: Evidence) -> str | Outcome:
    """The MCP server URL."""
    if not ev.target.server_url:
        return skip("No MCP server given (--server).")
    return ev.target.server_url


def answered(ev: Evidence) -> Exchange | Outcome:
    """The unauthenticated request's answer, when there was one."""
    url = server(ev)
    if isinstance(url, Outcome):
        return url
    assert ev.challenge is not None  # Probe.CHALLENGE ran
    if not ev.challenge.ok:
        return skip(f"The server did not answer (see server.reachable): {ev.challenge.error}.")
    return ev.challenge


def unauthorized(ev: Evidence) -> Exchange | Outcome:
    """The 401 to an unauthenticated request (RFC 6750 §3)."""
    ex = answered(ev)
    if isinstance(ex, Outcome):
        return ex
    if ex.status != 401:
        return skip(f"The unauthenticated request got {ex.status}, not 401 (see challenge.status).")
    return ex


def prm(ev: Evidence) -> dict[str, Any] | Outcome:
    """The protected-resource metadata a spec client would use."""
    url = server(ev)
    if isinstance(url, Outcome):
        return url
    if ev.prm_doc is None:
        return skip("No protected-resource metadata was found (see prm.discovery).")
    return ev.prm_doc


def found_as(ev: Evidence) -> FoundAS | Outcome:
    """The AS discovery with metadata found, or the skip that explains why there is none."""
    if ev.as_issuer is None:
        if ev.target.server_url and ev.prm_doc is None:
            return skip("No authorization server is known: the server's protected-resource metadata was not found (see prm.discovery).")
        if ev.target.server_url:
            return skip("The protected-resource metadata names no authorization server (see prm.authorization-servers).")
        return skip("No authorization server given (--authkit-domain).")
    disc = ev.discovery
    found = disc.found() if disc else None
    if found is None:
        return skip(f"No metadata was found for {ev.as_issuer} (see as.discovery).")
    return found


LOGIN_HINT = "Needs a real token: run doctor --login (it logs in, so it is not read-only)."


def token(ev: Evidence) -> TokenEvidence | Outcome:
    """doctor --login's token, or why there is none."""
    url = server(ev)
    if isinstance(url, Outcome):
        return url
    te = ev.token
    if te is None:
        return skip(LOGIN_HINT)
    if te.error is not None or te.session is None:
        error = te.error or {}
        return skip(f"No token was obtained ({error.get('code')}: {error.get('message')}); see token.obtained.")
    return te


def _opaque(te: TokenEvidence) -> Outcome:
    why = (te.introspection or {}).get("why") or "it was not introspected"
    return skip(f"The access token is opaque (not a JWT), so its claims cannot be read here, and introspection (RFC 7662) gave none: {why}.")


def jwt_token(ev: Evidence) -> TokenEvidence | Outcome:
    """doctor --login's token when it is a JWT (its signature can be checked)."""
    te = token(ev)
    if isinstance(te, Outcome):
        return te
    if not te.jwt:
        if te.readable_claims is not None:
            return skip("The access token is opaque: it has no signature to verify; the AS vouched for it by introspection (RFC 7662).")
        return _opaque(te)
    return te


def token_claims(ev: Evidence) -> TokenEvidence | Outcome:
    """doctor --login's token when its claims can be read: a JWT, or an opaque token the AS introspected."""
    te = token(ev)
    if isinstance(te, Outcome):
        return te
    if te.readable_claims is None:
        return _opaque(te)
    return te
