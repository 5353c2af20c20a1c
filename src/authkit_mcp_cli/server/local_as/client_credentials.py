"""The client credentials grant (RFC 6749 §4.4) at the development AS: a
confidential client, registered for the grant, obtains a token for itself
(sub = its client id), for the resource it names (RFC 8707); no refresh token
(§4.4.3), no id_token.

Scopes: at most the resource's default scopes (the ones it requires of every
token, serve's --required-scopes: ``mcp:tools``), within the client's
registered ``scope``. Any scope above them (``mcp:admin``) is invalid_scope
here; it needs a user, who approves it on the consent or device page.

Why: every client of this server registered itself. Registration is open and
answers any web page (CORS), so a client and its secret are anyone's for one
request, and its metadata, ``scope`` included, is self-asserted (RFC 7591 §5:
the AS treats it as such and may limit what such clients get, §2 lets it
register a client with a default set of scopes). Without this bound any page
could register, mint an ``mcp:admin`` token and call ``admin_echo``. The
token of a grant with no user should carry the least privilege that serves
it (RFC 9700 §2.3: access token privilege restriction)."""

from __future__ import annotations

import secrets
from typing import Any, Protocol

from authkit_mcp_cli.oauth.grant_types import DEVICE_CODE as DEVICE_GRANT
from authkit_mcp_cli.server.local_as.model import Client, OAuthError


class Issuer(Protocol):
    """What this grant needs of the development AS (provider.LocalAuthorizationServer), so the two do not import each other."""

    resource: str
    default_scopes: list[str]

    def _issue(self, client: Client, scopes: list[str], resource: str, family: str, *, nonce: str | None, with_id_token: bool, keep_scopes: list[str] | None = None, subject: str | None = None, refresh: bool = True, jkt: str | None = None) -> dict[str, Any]: ...


GRANT = "client_credentials"
GRANT_TYPES = ("authorization_code", "refresh_token", GRANT, DEVICE_GRANT)


def check_grant_types(grant_types: Any, method: str) -> list[str]:
    """RFC 7591 §2 grant_types, refusing a public client for client credentials (§3.2.2)."""
    if not isinstance(grant_types, list) or not grant_types or not set(grant_types) <= set(GRANT_TYPES):
        raise OAuthError("invalid_client_metadata", f"grant_types may contain only {', '.join(GRANT_TYPES)}")
    if GRANT in grant_types and method == "none":
        raise OAuthError("invalid_client_metadata", "the client_credentials grant is for confidential clients: use client_secret_basic, client_secret_post or private_key_jwt, not none")
    if GRANT in grant_types and "refresh_token" in grant_types and not {"authorization_code", DEVICE_GRANT} & set(grant_types):
        raise OAuthError("invalid_client_metadata", "client_credentials gives no refresh token (RFC 6749 §4.4.3): refresh_token needs authorization_code or the device grant")
    return list(dict.fromkeys(grant_types))


def client_credentials(las: Issuer, client: Client, form: dict[str, str], jkt: str | None = None) -> dict[str, Any]:
    """A token for an already authenticated client (RFC 6749 §4.4.2, §4.4.3); DPoP-bound when ``jkt`` is given."""
    if client.token_endpoint_auth_method == "none":
        raise OAuthError("unauthorized_client", "the client_credentials grant is only for confidential clients")
    if GRANT not in client.grant_types:
        raise OAuthError("unauthorized_client", "this client is not registered for the client_credentials grant")
    resource = form.get("resource")
    if not resource:
        raise OAuthError("invalid_target", f"send resource (RFC 8707): this development server issues tokens for {las.resource}")
    if resource != las.resource:
        raise OAuthError("invalid_target", f"this development server only issues tokens for {las.resource}")
    offered = [s for s in las.default_scopes if not client.scope or s in client.scope.split()]
    asked = [s for s in (form.get("scope") or "").split() if s != "offline_access"]
    unknown = [s for s in asked if s not in offered]
    if unknown:
        raise OAuthError(
            "invalid_scope",
            f"{'scope' if len(unknown) == 1 else 'scopes'} {' '.join(unknown)} not offered to this client for {resource} without a user; offered: {' '.join(offered) or '(none)'}"
            " (other scopes need a user's approval: the authorization code or device grant)",
        )
    scopes = list(dict.fromkeys(asked)) if asked else offered[:1]
    return las._issue(client, scopes, resource, secrets.token_urlsafe(12), nonce=None, with_id_token=False, subject=client.client_id, refresh=False, jkt=jkt)
