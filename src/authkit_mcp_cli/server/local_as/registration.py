"""Dynamic client registration (RFC 7591 §2, §3.2.2) at the development AS:
the metadata a client may register, checked before anything is stored."""

from __future__ import annotations

import secrets
from typing import Any

from authkit_mcp_cli.server.local_as.client_auth import check_jwks
from authkit_mcp_cli.server.local_as.client_credentials import check_grant_types
from authkit_mcp_cli.server.local_as.model import AUTH_METHODS, Client, OAuthError, check_redirect_uri
from authkit_mcp_cli.server.local_as.redirect_uris import check_redirect_uri_syntax

MAX_REDIRECT_URIS = 20
MAX_URI_LENGTH = 2000
MAX_SCOPE_LENGTH = 1000


def register_client(body: Any, scopes_supported: list[str]) -> Client:
    """A new client from a registration request's metadata; ``OAuthError`` for anything refused."""
    if not isinstance(body, dict):
        raise OAuthError("invalid_client_metadata", "the registration request must be a JSON object")
    app_type = body.get("application_type", "web")
    if app_type not in ("web", "native"):
        raise OAuthError("invalid_client_metadata", f"application_type must be 'web' or 'native', not {app_type!r}")
    method = body.get("token_endpoint_auth_method", "client_secret_basic")  # RFC 7591 §2 default
    if method not in AUTH_METHODS:
        raise OAuthError("invalid_client_metadata", f"token_endpoint_auth_method {method!r} is not supported (use one of {', '.join(AUTH_METHODS)})")
    jwks = check_jwks(body.get("jwks")) if method == "private_key_jwt" else None
    grant_types = check_grant_types(body.get("grant_types", ["authorization_code"]), method)
    uses_code = "authorization_code" in grant_types  # a client_credentials-only or device client has no redirects
    redirect_uris = body.get("redirect_uris", None if uses_code else [])
    if not isinstance(redirect_uris, list) or (uses_code and not redirect_uris) or not all(isinstance(u, str) for u in redirect_uris):
        raise OAuthError("invalid_redirect_uri", "redirect_uris must be a non-empty array of strings")
    if len(redirect_uris) > MAX_REDIRECT_URIS or any(len(u) > MAX_URI_LENGTH for u in redirect_uris):
        raise OAuthError("invalid_redirect_uri", f"at most {MAX_REDIRECT_URIS} redirect URIs of at most {MAX_URI_LENGTH} characters")
    for uri in redirect_uris:
        check_redirect_uri_syntax(uri)  # host and port only in the authority (RFC 7591 §2; issue 14 item 4)
        check_redirect_uri(uri, app_type)
    response_types = body.get("response_types", ["code"] if uses_code else [])
    if response_types != (["code"] if uses_code else []):
        raise OAuthError("invalid_client_metadata", "response_types must be [\"code\"]" if uses_code else "response_types must be [] without authorization_code")
    name = body.get("client_name")
    if name is not None and not isinstance(name, str):
        raise OAuthError("invalid_client_metadata", "client_name must be a string")
    scope = body.get("scope")
    if scope is not None and (not isinstance(scope, str) or len(scope) > MAX_SCOPE_LENGTH or not set(scope.split()) <= set(scopes_supported)):
        raise OAuthError("invalid_client_metadata", f"scope must be a subset of {' '.join(scopes_supported)}")
    return Client(
        client_id="client_" + secrets.token_urlsafe(16),
        redirect_uris=list(redirect_uris),
        token_endpoint_auth_method=method,
        client_secret=None if method in ("none", "private_key_jwt") else secrets.token_urlsafe(32),
        application_type=app_type,
        grant_types=grant_types,
        response_types=list(response_types),
        client_name=name[:200] if name else None,
        scope=" ".join(dict.fromkeys(scope.split())) if scope else None,
        jwks=jwks,
    )
