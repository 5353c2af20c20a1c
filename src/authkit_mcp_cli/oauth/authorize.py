"""The authorization request (RFC 6749 §4.1.1 with PKCE, RFC 7636 §4.3, and
``resource``, RFC 8707 §2)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode, urlsplit

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
