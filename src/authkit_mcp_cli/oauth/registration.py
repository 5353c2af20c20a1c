"""Dynamic client registration (RFC 7591): the request (§3.1, with
``application_type``, OIDC Registration §2) and the response (§3.2.1,
errors §3.2.2)."""

from __future__ import annotations

import json
from typing import Any

from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import ProtocolError
from authkit_mcp_cli.oauth.client_auth import ClientRegistration
from authkit_mcp_cli.oauth.message import HttpRequest, error_response, load_json

SPEC_RESPONSE = "RFC 7591 §3.2.1"


def registration_request(metadata: dict[str, Any], *, client_name: str, redirect_uris: list[str], application_type: str, auth_method: str, scope: str | None) -> HttpRequest:
    """Register a client for the authorization-code grant (RFC 7591 §3.1)."""
    body: dict[str, Any] = {
        "client_name": client_name,
        "redirect_uris": redirect_uris,
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": auth_method,
        "application_type": application_type,
    }
    if scope:
        body["scope"] = scope
    return HttpRequest("POST", metadata["registration_endpoint"], {"Content-Type": "application/json", "Accept": "application/json"}, json.dumps(body).encode())


def parse_registration_response(status: int, body: bytes, *, asked_method: str, url: str | None = None) -> tuple[ClientRegistration, dict[str, Any]]:
    """The registered client and the raw response (RFC 7591 §3.2.1), else the AS's error (§3.2.2)."""
    if status not in (200, 201):
        raise error_response(status, body, "Dynamic client registration", spec="RFC 7591 §3.2.2", url=url)
    data = load_json(body)
    if data is None:
        raise ProtocolError("The registration endpoint answered with a body that is not JSON.", code=ErrorCode.DCR_INVALID_RESPONSE, spec=SPEC_RESPONSE, url=url)
    if not isinstance(data, dict) or not isinstance(data.get("client_id"), str):
        raise ProtocolError("The registration response has no client_id.", code=ErrorCode.DCR_INVALID_RESPONSE, spec=SPEC_RESPONSE, url=url)
    method = data.get("token_endpoint_auth_method") or asked_method
    secret = data.get("client_secret") if isinstance(data.get("client_secret"), str) else None
    if method in ("client_secret_basic", "client_secret_post") and not secret:
        raise ProtocolError(f"The AS registered the client with {method} but returned no client_secret.", code=ErrorCode.DCR_INVALID_RESPONSE, spec=SPEC_RESPONSE, url=url)
    listed = data.get("redirect_uris")
    uris = [u for u in listed if isinstance(u, str)] if isinstance(listed, list) else []
    return ClientRegistration(client_id=data["client_id"], client_secret=secret, token_endpoint_auth_method=method, redirect_uris=tuple(uris), source="dcr"), data
