"""The token endpoint (RFC 6749 §3.2): the authorization-code request
(§4.1.3, with the PKCE verifier, RFC 7636 §4.5), the refresh request (§6),
both with ``resource`` (RFC 8707 §2.2), and the response (§5.1, errors §5.2)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import ProtocolError
from authkit_mcp_cli.oauth.client_auth import ClientRegistration, client_auth
from authkit_mcp_cli.oauth.message import HttpRequest, error_response, form_request, load_json
from authkit_mcp_cli.oauth.pkce import Pkce


@dataclass
class Tokens:
    """A token response, as stored."""

    access_token: str
    token_type: str
    expires_at: float | None
    refresh_token: str | None = None
    id_token: str | None = None
    scope: str | None = None
    obtained_at: float = field(default_factory=time.time)
    dpop_key: dict[str, str] | None = None  # the private JWK the tokens are bound to (RFC 9449); a secret
    grant_type: str | None = None  # how they were obtained (token show)

    def expired(self, skew: float = 30.0) -> bool:
        return self.expires_at is not None and self.expires_at - skew <= time.time()

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Tokens:
        return cls(
            access_token=data["access_token"],
            token_type=data.get("token_type") or "Bearer",
            expires_at=data.get("expires_at"),
            refresh_token=data.get("refresh_token"),
            id_token=data.get("id_token"),
            scope=data.get("scope"),
            obtained_at=data.get("obtained_at") or time.time(),
            dpop_key=data.get("dpop_key") if isinstance(data.get("dpop_key"), dict) else None,
            grant_type=data.get("grant_type") if isinstance(data.get("grant_type"), str) else None,
        )


def code_token_request(metadata: dict[str, Any], reg: ClientRegistration, *, code: str, redirect_uri: str, pkce: Pkce, resource: str) -> HttpRequest:
    """Exchange the code (RFC 6749 §4.1.3; RFC 7636 §4.5; RFC 8707 §2.2)."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "code_verifier": pkce.verifier, "resource": resource}
    return form_request(metadata["token_endpoint"], form, client_auth(reg, form))


def refresh_token_request(metadata: dict[str, Any], reg: ClientRegistration, *, refresh_token: str, resource: str, scope: str | None = None) -> HttpRequest:
    """Refresh the access token (RFC 6749 §6; RFC 8707 §2.2)."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "resource": resource}
    if scope:
        form["scope"] = scope
    return form_request(metadata["token_endpoint"], form, client_auth(reg, form))


def parse_token_response(status: int, body: bytes, *, previous_refresh_token: str | None = None, url: str | None = None, dpop: bool = False) -> Tokens:
    """The tokens of a successful response (RFC 6749 §5.1; with ``dpop`` token_type DPoP too, RFC 9449 §5), else the AS's error (§5.2)."""
    if status != 200:
        raise error_response(status, body, "The token request", url=url)
    data = load_json(body)
    if data is None:
        raise ProtocolError("The token endpoint answered 200 with a body that is not JSON.", code=ErrorCode.OAUTH_INVALID_TOKEN_RESPONSE, spec="RFC 6749 §5.1", url=url)
    if not isinstance(data, dict) or not isinstance(data.get("access_token"), str) or not data["access_token"]:
        raise ProtocolError("The token response has no access_token.", code=ErrorCode.OAUTH_INVALID_TOKEN_RESPONSE, spec="RFC 6749 §5.1", url=url)
    token_type = data.get("token_type")
    accepted = ("bearer", "dpop") if dpop else ("bearer",)
    if not isinstance(token_type, str) or token_type.lower() not in accepted:
        expected = "DPoP or Bearer" if dpop else "Bearer"
        raise ProtocolError(f"The token response's token_type is {token_type!r}, not {expected}.", code=ErrorCode.OAUTH_INVALID_TOKEN_RESPONSE, spec="RFC 6749 §5.1; RFC 6750" + ("; RFC 9449 §5" if dpop else ""), url=url)
    expires_in = data.get("expires_in")
    expires_at = time.time() + float(expires_in) if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool) else None
    refresh = data.get("refresh_token") if isinstance(data.get("refresh_token"), str) else None
    return Tokens(
        access_token=data["access_token"],
        token_type="DPoP" if token_type.lower() == "dpop" else "Bearer",
        expires_at=expires_at,
        # MCP Refresh Tokens: keep the newest; an AS that does not rotate sends none back
        refresh_token=refresh or previous_refresh_token,
        id_token=data.get("id_token") if isinstance(data.get("id_token"), str) else None,
        scope=data.get("scope") if isinstance(data.get("scope"), str) else None,
    )
