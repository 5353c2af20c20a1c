"""Is the authorization server AuthKit? Recognised, never guessed: its issuer
host ends in ``.authkit.app``, or the configuration says so (``--as-kind
authkit``, or the guide's ``FASTMCP_SERVER_AUTH=...AuthKitProvider`` in the
environment or ``.env``). An issuer given with ``--authkit-domain`` is not
enough (the flag names any AS), nor is an endpoint path such as
``/oauth2/authorize`` (other servers use it). Only then do findings and
errors carry AuthKit's dashboard steps; for any other AS the advice is
generic. Used by doctor (:mod:`.checks.as_kind`) and the client's
diagnosis of a refused token alike."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

ENV_SERVER_AUTH = "FASTMCP_SERVER_AUTH"
AUTHKIT_PROVIDER = "AuthKitProvider"


def configured_kind(as_kind: str | None, env: Mapping[str, str]) -> str | None:
    """Why the configuration says the AS is AuthKit, or None."""
    if as_kind == "authkit":
        return "--as-kind authkit"
    value = env.get(ENV_SERVER_AUTH, "")
    if as_kind is None and value.rsplit(".", 1)[-1] == AUTHKIT_PROVIDER:
        return f"{ENV_SERVER_AUTH}={value}"
    return None


def authkit_host(issuer: str | None) -> bool:
    """An AuthKit environment's own domain (``https://<env>.authkit.app``)."""
    return bool(issuer) and (urlsplit(issuer or "").hostname or "").lower().endswith(".authkit.app")


def is_authkit(issuer: str | None, env: Mapping[str, str], as_kind: str | None = None) -> bool:
    """AuthKit by its issuer host or by the configuration."""
    return authkit_host(issuer) or configured_kind(as_kind, env) is not None
