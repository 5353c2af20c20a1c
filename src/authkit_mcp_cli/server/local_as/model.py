"""The development AS's data: clients, pending authorizations, codes, refresh
tokens, its OAuth error, and the redirect URI rules (RFC 8252 §7)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from authkit_mcp_cli.urls import is_loopback_host

DEV_USER = {"sub": "user_dev_local", "email": "dev@atoms-auth.local", "email_verified": True, "name": "Local Developer"}
OIDC_SCOPES = ("openid", "profile", "email", "offline_access")
AUTH_METHODS = ("none", "client_secret_post", "client_secret_basic", "private_key_jwt")
CODE_TTL = 60
PENDING_TTL = 600
ACCESS_TOKEN_TTL = 3600
REFRESH_TOKEN_TTL = 14 * 24 * 3600


class OAuthError(Exception):
    """An OAuth error response (RFC 6749 §5.2, RFC 7591 §3.2.2)."""

    def __init__(self, error: str, description: str, *, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error, self.description, self.status = error, description, status

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


@dataclass
class Client:
    client_id: str
    redirect_uris: list[str]
    token_endpoint_auth_method: str = "none"
    client_secret: str | None = None
    application_type: str = "web"
    grant_types: list[str] = field(default_factory=lambda: ["authorization_code"])
    response_types: list[str] = field(default_factory=lambda: ["code"])
    client_name: str | None = None
    scope: str | None = None
    jwks: dict[str, Any] | None = None  # private_key_jwt: the public keys its assertions are signed with
    metadata_document: bool = False
    issued_at: int = field(default_factory=lambda: int(time.time()))

    def registration_response(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "client_id": self.client_id,
            "client_id_issued_at": self.issued_at,
            "redirect_uris": self.redirect_uris,
            "token_endpoint_auth_method": self.token_endpoint_auth_method,
            "grant_types": self.grant_types,
            "response_types": self.response_types,
            "application_type": self.application_type,
        }
        if self.client_name:
            doc["client_name"] = self.client_name
        if self.scope:
            doc["scope"] = self.scope
        if self.jwks:
            doc["jwks"] = self.jwks
        if self.client_secret:
            doc["client_secret"] = self.client_secret
            doc["client_secret_expires_at"] = 0
        return doc


@dataclass
class AuthorizationRequest:
    """A validated /authorize request waiting for the user's decision."""

    id: str
    csrf: str
    client: Client
    redirect_uri: str
    state: str | None
    scopes: list[str]
    resource: str
    code_challenge: str
    nonce: str | None
    expires_at: float


@dataclass
class AuthorizationCode:
    client_id: str
    redirect_uri: str
    code_challenge: str
    scopes: list[str]
    resource: str
    nonce: str | None
    expires_at: float
    used: bool = False
    family: str | None = None  # the grant created by exchanging it


@dataclass
class RefreshToken:
    client_id: str
    scopes: list[str]
    resource: str
    family: str
    expires_at: float
    rotated: bool = False
    jkt: str | None = None  # RFC 9449 §5: a public client's refresh token is bound to its DPoP key


def check_redirect_uri(uri: str, application_type: str) -> None:
    """RFC 8252 §7 for native clients; https or loopback http otherwise (a development server)."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        raise OAuthError("invalid_redirect_uri", f"{uri!r} is not a URI") from None
    if not parts.scheme or parts.fragment or "#" in uri:
        raise OAuthError("invalid_redirect_uri", f"{uri!r} must be absolute and have no fragment")
    if "@" in parts.netloc:
        raise OAuthError("invalid_redirect_uri", f"{uri!r} must not carry userinfo (user:password@)")
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http":
        if is_loopback_host(parts.hostname):
            return
        raise OAuthError("invalid_redirect_uri", f"{uri!r}: http is allowed only for loopback hosts")
    if application_type == "native" and "." in parts.scheme and parts.scheme not in ("javascript", "data", "file"):
        return  # a private-use scheme (RFC 8252 §7.1), reverse-domain form
    raise OAuthError("invalid_redirect_uri", f"{uri!r} uses a scheme this server does not accept")
