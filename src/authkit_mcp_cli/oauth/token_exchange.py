"""OAuth 2.0 Token Exchange (RFC 8693) as enterprise-managed authorization
uses it (MCP extension ``io.modelcontextprotocol/enterprise-managed-authorization``,
draft-ietf-oauth-identity-assertion-authz-grant): the user's ID token is
exchanged at the enterprise IdP for an Identity Assertion JWT Authorization
Grant (ID-JAG) addressed to the MCP server's AS (``audience``) for the MCP
server (``resource``). The request (§2.1) and the response (§2.2) as pure
functions."""

from __future__ import annotations

from dataclasses import dataclass

from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import ProtocolError
from authkit_mcp_cli.oauth.client_auth import ClientRegistration, client_auth
from authkit_mcp_cli.oauth.grant_types import TOKEN_EXCHANGE
from authkit_mcp_cli.oauth.message import HttpRequest, error_response, form_request, load_json

ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"  # RFC 8693 §3
ID_JAG_TYPE = "urn:ietf:params:oauth:token-type:id-jag"  # draft-ietf-oauth-identity-assertion-authz-grant §9
SPEC = "RFC 8693 §2"


@dataclass(frozen=True)
class IssuedToken:
    """What the IdP issued (RFC 8693 §2.2.1): the token (in ``access_token``, whatever its type) and its type."""

    token: str
    issued_token_type: str
    token_type: str | None = None
    expires_in: float | None = None
    scope: str | None = None


def token_exchange_request(
    token_endpoint: str,
    client: ClientRegistration,
    *,
    subject_token: str,
    subject_token_type: str = ID_TOKEN_TYPE,
    requested_token_type: str = ID_JAG_TYPE,
    audience: str | None = None,
    resource: str | None = None,
    scope: str | None = None,
) -> HttpRequest:
    """The token exchange request (RFC 8693 §2.1): the subject token and its type, the type wanted,
    ``audience`` (the AS that will accept it) and ``resource`` (where it will be used), with the
    client's authentication at the IdP."""
    form = {"grant_type": TOKEN_EXCHANGE, "requested_token_type": requested_token_type, "subject_token": subject_token, "subject_token_type": subject_token_type}
    if audience:
        form["audience"] = audience
    if resource:
        form["resource"] = resource
    if scope:
        form["scope"] = scope
    return form_request(token_endpoint, form, client_auth(client, form))


def parse_token_exchange_response(status: int, body: bytes, *, expected_type: str = ID_JAG_TYPE, url: str | None = None) -> IssuedToken:
    """The issued token (RFC 8693 §2.2.1: ``access_token`` and ``issued_token_type`` are required;
    ``token_type`` is ``N_A`` for a token that is not an access token), else the IdP's error (§2.2.2)."""
    if status != 200:
        raise error_response(status, body, "The token exchange", spec="RFC 8693 §2.2.2; RFC 6749 §5.2", url=url)
    data = load_json(body)
    if not isinstance(data, dict) or not isinstance(data.get("access_token"), str) or not data["access_token"]:
        raise ProtocolError("The token exchange response has no access_token (the issued token).", code=ErrorCode.OAUTH_INVALID_TOKEN_EXCHANGE_RESPONSE, spec="RFC 8693 §2.2.1", url=url)
    issued_type = data.get("issued_token_type")
    if not isinstance(issued_type, str):
        raise ProtocolError("The token exchange response has no issued_token_type.", code=ErrorCode.OAUTH_INVALID_TOKEN_EXCHANGE_RESPONSE, spec="RFC 8693 §2.2.1", url=url)
    if issued_type != expected_type:
        raise ProtocolError(
            f"The IdP issued a {issued_type}, not the {expected_type} asked for.",
            code=ErrorCode.OAUTH_UNEXPECTED_TOKEN_TYPE,
            hint="The IdP does not issue ID-JAGs for this client: check that enterprise-managed authorization is enabled for it at the IdP.",
            spec="RFC 8693 §2.2.1",
            url=url,
        )
    expires_in = data.get("expires_in")
    return IssuedToken(
        token=data["access_token"],
        issued_token_type=issued_type,
        token_type=data.get("token_type") if isinstance(data.get("token_type"), str) else None,
        expires_in=float(expires_in) if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool) else None,
        scope=data.get("scope") if isinstance(data.get("scope"), str) else None,
    )
