"""Token requests of the grants without a user at the AS: client credentials
(RFC 6749 §4.4.2) and the JWT bearer authorization grant (RFC 7523 §2.1),
both with ``resource`` (RFC 8707 §2.2). Built without I/O; the responses are
read by :func:`authkit_mcp_cli.oauth.token.parse_token_response` (§5.1)."""

from __future__ import annotations

from typing import Any

from authkit_mcp_cli.oauth.client_auth import ClientRegistration, client_auth
from authkit_mcp_cli.oauth.grant_types import JWT_BEARER
from authkit_mcp_cli.oauth.message import HttpRequest, form_request

CLIENT_CREDENTIALS_GRANT = "client_credentials"  # RFC 6749 §4.4.2


def client_credentials_request(metadata: dict[str, Any], reg: ClientRegistration, *, resource: str, scope: str | None = None) -> HttpRequest:
    """``grant_type=client_credentials`` with the client's own authentication (RFC 6749 §4.4.2; RFC 8707 §2.2)."""
    form = {"grant_type": CLIENT_CREDENTIALS_GRANT, "resource": resource}
    if scope:
        form["scope"] = scope
    return form_request(metadata["token_endpoint"], form, client_auth(reg, form))


def jwt_bearer_request(metadata: dict[str, Any], reg: ClientRegistration, *, assertion: str, resource: str, scope: str | None = None) -> HttpRequest:
    """Trade a JWT for an access token (RFC 7523 §2.1: ``grant_type`` and one ``assertion``); the client
    authenticates as registered, or not at all (§3.1: client authentication is optional)."""
    form = {"grant_type": JWT_BEARER, "assertion": assertion, "resource": resource}
    if scope:
        form["scope"] = scope
    return form_request(metadata["token_endpoint"], form, client_auth(reg, form))
