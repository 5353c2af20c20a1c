"""URL rules of the MCP authorization spec: canonical server URIs, well-known
URL construction, and the https-except-loopback policy.

Pure functions; nothing here touches the network.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit, urlunsplit

from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import UsageError

PRM_WELL_KNOWN = "/.well-known/oauth-protected-resource"
OAUTH_AS_WELL_KNOWN = "/.well-known/oauth-authorization-server"
OIDC_WELL_KNOWN = "/.well-known/openid-configuration"


def is_loopback_host(host: str | None) -> bool:
    """127.0.0.0/8, ::1 and the literal name ``localhost`` (RFC 8252 §8.3).

    ``*.localhost`` names are not loopback: common resolvers send them to DNS
    (RFC 6761 §6.3 only asks them not to), so plain http to one could leave the host.
    """
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_absolute_http_url(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def is_secure_url(url: str) -> bool:
    """https, or http on a loopback host (MCP Security Considerations)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and is_loopback_host(parts.hostname)


def origin(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def parse_target_url(value: str, *, what: str, flag: str) -> str:
    """Validate a user-given http(s) URL; keep it as typed apart from whitespace."""
    value = value.strip()
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise UsageError(f"{what} {value!r} is not a valid URL: {exc}.", code=ErrorCode.USAGE_INVALID_URL, hint=f"Pass a full URL to {flag}, e.g. https://host/api/mcp.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"{what} {value!r} is not an absolute http(s) URL.",
            code=ErrorCode.USAGE_INVALID_URL,
            hint=f"Pass a full URL to {flag}, including https://.",
        )
    if parts.fragment:
        raise UsageError(f"{what} {value!r} has a fragment (#...), which OAuth URLs must not have.", code=ErrorCode.USAGE_INVALID_URL, hint=f"Remove the fragment from {flag}.")
    return value


def prm_urls(server_url: str) -> tuple[str, str]:
    """(path-inserted, root) protected-resource metadata URLs (RFC 9728 §3.1)."""
    parts = urlsplit(server_url)
    path = parts.path.rstrip("/")
    root = urlunsplit((parts.scheme, parts.netloc, PRM_WELL_KNOWN, "", ""))
    inserted = urlunsplit((parts.scheme, parts.netloc, PRM_WELL_KNOWN + path, "", "")) if path else root
    return inserted, root


def as_metadata_urls(issuer: str) -> list[tuple[str, str]]:
    """The spec's ordered AS metadata URLs as (kind, url), kind 'oauth' or 'oidc'.

    MCP Authorization Server Discovery; RFC 8414 §3.1; OIDC Discovery §4.
    """
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    base = (parts.scheme, parts.netloc)
    if path:
        return [
            ("oauth", urlunsplit((*base, OAUTH_AS_WELL_KNOWN + path, "", ""))),
            ("oidc", urlunsplit((*base, OIDC_WELL_KNOWN + path, "", ""))),
            ("oidc", urlunsplit((*base, path + OIDC_WELL_KNOWN, "", ""))),
        ]
    return [
        ("oauth", urlunsplit((*base, OAUTH_AS_WELL_KNOWN, "", ""))),
        ("oidc", urlunsplit((*base, OIDC_WELL_KNOWN, "", ""))),
    ]


def resource_matches(resource: str, server_url: str, *, allow_prefix: bool) -> tuple[bool, str | None]:
    """Does PRM ``resource`` identify ``server_url``? Returns (ok, what differs).

    RFC 9728 §3.3 wants the exact value for the path-inserted document; at
    the root an origin or path prefix of the MCP URL is accepted (MCP
    Authorization: Canonical Server URI).
    """
    if resource == server_url:
        return True, None
    if resource.rstrip("/") == server_url.rstrip("/"):
        return False, "differs only by a trailing slash"
    if resource.lower() == server_url.lower():
        return False, "differs only in letter case"
    try:
        r, s = urlsplit(resource), urlsplit(server_url)
    except ValueError:
        return False, "is not a valid URL"
    if r.fragment:
        return False, "has a fragment, which a resource identifier must not have"
    if allow_prefix and (r.scheme, r.netloc.lower()) == (s.scheme, s.netloc.lower()) and not r.query:
        rpath = r.path.rstrip("/")
        if rpath == "" or s.path == rpath or s.path.startswith(rpath + "/"):
            return True, None
    if (r.scheme, r.netloc.lower()) != (s.scheme, s.netloc.lower()):
        return False, f"names another origin ({origin(resource)})"
    return False, f"names another path ({r.path or '/'})"


def broader_audience(resource: str, server_url: str) -> str | None:
    """The audience a token will carry when PRM names an origin or path prefix of the server URL, else None.

    Accepted only from the root document (MCP Authorization: Canonical Server URI), as the
    official SDKs accept it; a token for it is good at every resource under that prefix,
    which the user must be told (RFC 8707 §2: the audience is the resource asked for).
    """
    return resource if resource != server_url else None
