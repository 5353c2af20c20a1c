"""doctor's view of whether the AS is AuthKit (the rules: :mod:`authkit_mcp_cli.as_kind`),
read from the evidence: the configuration, the issuer asked for, the one PRM names."""

from __future__ import annotations

from authkit_mcp_cli.as_kind import AUTHKIT_PROVIDER, ENV_SERVER_AUTH, authkit_host, configured_kind
from authkit_mcp_cli.checks.evidence import Evidence

__all__ = ["AUTHKIT_PROVIDER", "ENV_SERVER_AUTH", "authkit_host", "authkit_reason", "configured_kind", "is_authkit", "prm_names_authkit"]


def authkit_reason(ev: Evidence, issuer: str | None = None) -> str | None:
    """Why this AS is AuthKit, or None when nothing says so."""
    if ev.as_kind:
        return ev.as_kind
    for candidate in (issuer, ev.target.authkit_domain, ev.as_issuer):
        if authkit_host(candidate):
            return f"the issuer {candidate} is an .authkit.app host"
    return None


def is_authkit(ev: Evidence, issuer: str | None = None) -> bool:
    return authkit_reason(ev, issuer) is not None


def prm_names_authkit(ev: Evidence) -> bool:
    """For checks of the protected-resource metadata: is the AS it names AuthKit?"""
    return is_authkit(ev, next(iter(ev.prm_issuers), None))
