"""The authorization request (RFC 6749 §4.1.1 with PKCE, RFC 7636 §4.3, and
``resource``, RFC 8707 §2), and how the authorization endpoint answered it
before any user acted (RFC 6749 §4.1.2.1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit

from authkit_mcp_cli.errors import RemoteDetail
from authkit_mcp_cli.oauth.message import load_json
from authkit_mcp_cli.oauth.pkce import Pkce


def authorization_url(metadata: dict[str, Any], *, client_id: str, redirect_uri: str, scope: str | None, resource: str, state: str, pkce: Pkce) -> str:
    """The URL the browser opens (RFC 6749 §4.1.1; RFC 7636 §4.3; RFC 8707 §2)."""
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
        "state": state,
        "resource": resource,
    }
    if scope:
        params["scope"] = scope
    endpoint = metadata["authorization_endpoint"]
    sep = "&" if urlsplit(endpoint).query else "?"  # §3.1: keep the endpoint's own query
    return endpoint + sep + urlencode(params, quote_via=quote)


# --- what the authorization endpoint answers a request it is sent (RFC 6749 §4.1.2.1) ---------

CLIENT_ERRORS = ("invalid_client", "unauthorized_client")
REDIRECTS = (301, 302, 303, 307, 308)


@dataclass(frozen=True)
class AuthorizeAnswer:
    """How the AS answered a GET of the authorization URL (not followed).

    ``verdict``: ``accepted`` (a sign-in or consent page, or a redirect to one:
    the browser is needed), ``answered`` (an authorization response straight to
    the redirect URI, in ``params``: an AS that approves without a page), or
    ``refused`` (an error status or page, or a redirect carrying
    invalid_client/unauthorized_client: the AS does not accept this client).
    """

    verdict: str
    detail: str
    params: dict[str, str] | None = None
    remote: RemoteDetail | None = None


def _same_endpoint(a: str, b: str) -> bool:
    try:
        x, y = urlsplit(a), urlsplit(b)
        return (x.scheme, (x.hostname or "").lower(), x.port, x.path) == (y.scheme, (y.hostname or "").lower(), y.port, y.path)
    except ValueError:
        return False


def classify_authorization_answer(status: int, location: str | None, body: bytes, *, url: str, redirect_uri: str) -> AuthorizeAnswer:
    """Read the AS's answer to the authorization request (RFC 6749 §4.1.2.1: an unknown
    client_id or a bad redirect_uri is answered with an error, never with a redirect
    to the client; everything else goes through the redirect URI, or a page first)."""
    if status in REDIRECTS and location:
        target = urljoin(url, location)
        params = dict(parse_qsl(urlsplit(target).query, keep_blank_values=True))
        error = params.get("error")
        remote = RemoteDetail(status=status, error=error, error_description=params.get("error_description"), url=url) if error else None
        if error in CLIENT_ERRORS:
            return AuthorizeAnswer("refused", f"HTTP {status} redirect with error={error}", remote=remote)
        if _same_endpoint(target, redirect_uri):
            return AuthorizeAnswer("answered", f"HTTP {status} straight to the redirect URI", params=params)
        return AuthorizeAnswer("accepted", f"HTTP {status} to {urlsplit(target).path or '/'} (a sign-in page)")
    if status >= 400:
        data = load_json(body)
        remote = RemoteDetail.from_oauth_body(status, data, url)
        if remote.error is None:
            remote = RemoteDetail(status=status, error_description=body[:160].decode("utf-8", "replace").strip() or None, url=url)
        said = " ".join(p for p in (f"HTTP {status}", remote.error, f"({remote.error_description})" if remote.error_description else None) if p)
        return AuthorizeAnswer("refused", said, remote=remote)
    return AuthorizeAnswer("accepted", f"HTTP {status} (a page)")
