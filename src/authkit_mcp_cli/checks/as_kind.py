"""Is the authorization server AuthKit? Recognised, never guessed: its issuer
host ends in ``.authkit.app``, or the configuration says so (``--as-kind
authkit``, or the guide's ``FASTMCP_SERVER_AUTH=...AuthKitProvider`` in the
environment or ``.env``). An issuer given with ``--authkit-domain`` is not
enough (the flag names any AS), nor is an endpoint path such as
``/oauth2/authorize`` (other servers use it). Only then do findings carry
AuthKit's dashboard steps; for any other AS the advice is generic."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from authkit_mcp_cli.checks.evidence import Evidence

ENV_SERVER_AUTH = "FASTMCP_SERVER_AUTH"
AUTHKIT_PROVIDER = "AuthKitProvider"


def configured_kind(as_kind: str | None, env: Mapping[str, str]) -> str | None:
    """Why the configuration says the AS is AuthKit (for ``Evidence.as_kind``), or None."""
    if as_kind == "authkit":
        return "--as-kind authkit"
    value = env.get(ENV_SERVER_AUTH, "")
    if as_kind is None and value.rsplit(".", 1)[-1] == AUTHKIT_PROVIDER:
        return f"{ENV_SERVER_AUTH}={value}"
    return None


def authkit_host(issuer: str | None) -> bool:
    return bool(issuer) and (urlsplit(issuer or "").hostname or "").lower().endswith(".authkit.app")


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
