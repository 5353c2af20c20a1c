"""Redirect URI syntax and trust for the development AS (issue 14 items 4, 8).

A redirect URI reaches two places where its characters matter: the consent
page's Content-Security-Policy (``form-action``) and the ``Location`` of a
redirect. So its authority must be a host and a port, nothing else: an IP
literal or DNS name characters, then digits. Anything else (``;``, ``,``,
spaces, quotes, userinfo) is refused at registration (RFC 7591 §2
``invalid_redirect_uri``), and policy sources are rebuilt from the validated
parts, never copied (a client put into the store some other way cannot inject
``frame-ancestors *`` either).

Which redirect URIs get an automatic error redirect (RFC 9700 §4.11.2: an AS
with open registration must not be an open redirector): loopback http and
private-use schemes of native clients (back to the user's own device, RFC
8252 §7). Others (any https URI: anyone can register one, or host a client
metadata document naming one) see an error page instead, and under
--auto-approve the consent page.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from authkit_mcp_cli.server.local_as.model import Client, OAuthError
from authkit_mcp_cli.urls import is_loopback_host

_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*\Z")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DNS_NAME = re.compile(rf"(?=[a-z0-9.-]{{1,253}}\Z){_LABEL}(?:\.{_LABEL})*\.?\Z")
_PORT = re.compile(r"[0-9]{1,5}\Z")
# RFC 3986 §2 allows none of these anywhere in a URI; urlsplit would silently drop tabs and newlines
_NEVER = frozenset(' "\'<>\\^`{|}') | {chr(c) for c in range(0x20)} | {"\x7f"}


@dataclass(frozen=True)
class Authority:
    scheme: str
    host: str  # lowercase DNS name, dotted IPv4, or [IPv6]; "" for a private-use scheme without one
    port: int | None


def parse_redirect_uri(uri: str) -> Authority:
    """The validated scheme, host and port of ``uri``; OAuthError(invalid_redirect_uri) otherwise."""
    if not isinstance(uri, str) or not uri or len(uri) > 2000 or any(ch in _NEVER or not ch.isascii() for ch in uri):
        raise OAuthError("invalid_redirect_uri", f"{uri!r} has characters a URI cannot hold (RFC 3986 §2)")
    try:
        parts = urlsplit(uri)
    except ValueError:
        raise OAuthError("invalid_redirect_uri", f"{uri!r} is not a URI") from None
    scheme = parts.scheme.lower()
    if not _SCHEME.match(scheme):
        raise OAuthError("invalid_redirect_uri", f"{uri!r} has no valid scheme")
    netloc = parts.netloc
    if not netloc:
        if scheme in ("http", "https"):
            raise OAuthError("invalid_redirect_uri", f"{uri!r} has no host")
        return Authority(scheme, "", None)
    if "@" in netloc:
        raise OAuthError("invalid_redirect_uri", f"{uri!r}: a redirect URI carries no user information")
    if netloc.startswith("["):
        host, sep, rest = netloc[1:].partition("]")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise OAuthError("invalid_redirect_uri", f"{uri!r}: {host!r} is not an IPv6 address") from None
        host = f"[{host.lower()}]"
        port_text = rest[1:] if rest.startswith(":") else None
        if not sep or (rest and port_text is None):
            raise OAuthError("invalid_redirect_uri", f"{uri!r}: the authority is not [IPv6]:port")
    else:
        host, colon, port_text_ = netloc.lower().partition(":")
        port_text = port_text_ if colon else None
        if not _DNS_NAME.match(host):
            raise OAuthError("invalid_redirect_uri", f"{uri!r}: the host must be an IP address or a DNS name (letters, digits, '-', '.')")
    port = None
    if port_text is not None:
        if not _PORT.match(port_text) or not 0 < int(port_text) < 65536:
            raise OAuthError("invalid_redirect_uri", f"{uri!r}: the port must be a number from 1 to 65535")
        port = int(port_text)
    return Authority(scheme, host, port)


def check_redirect_uri_syntax(uri: str) -> None:
    """Registration (RFC 7591 §2): refuse what parse_redirect_uri refuses."""
    parse_redirect_uri(uri)


def csp_source(uri: str) -> str | None:
    """A CSP source expression for ``uri`` built from validated parts, or None when it has none."""
    try:
        auth = parse_redirect_uri(uri)
    except OAuthError:
        return None
    if not auth.host:
        return f"{auth.scheme}:"  # a scheme-source (CSP3 §2.3.1): private-use schemes of native apps
    return f"{auth.scheme}://{auth.host}" + (f":{auth.port}" if auth.port is not None else "")


def origin_of(url: str) -> str | None:
    """scheme://host[:port] with the default port left out, as browsers send Origin (RFC 6454 §6.1)."""
    try:
        auth = parse_redirect_uri(url)
    except OAuthError:
        return None
    if not auth.host:
        return None
    default = {"http": 80, "https": 443}.get(auth.scheme)
    port = "" if auth.port in (None, default) else f":{auth.port}"
    return f"{auth.scheme}://{auth.host}{port}"


def trusted_for_redirect(client: Client, redirect_uri: str) -> bool:
    """May an error (or an unattended approval) be sent to this registered URI without a page?

    RFC 9700 §4.11.2: with open registration anyone can register any https URI, so
    an automatic redirect there makes an open redirector.
    """
    try:
        auth = parse_redirect_uri(redirect_uri)
    except OAuthError:
        return False
    if auth.scheme == "http" and is_loopback_host(auth.host):
        return True  # RFC 8252 §7.3: the user's own machine
    if client.application_type == "native" and not auth.host and "." in auth.scheme:
        return True  # RFC 8252 §7.1: an app on the user's device
    # Any https URI is not: open registration (or a metadata document anyone can host) lets
    # an attacker name their own site, and a link to this AS would land there.
    return False
