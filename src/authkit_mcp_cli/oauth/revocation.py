"""Token revocation (RFC 7009): the request (§2.1) and the response (§2.2:
200 means revoked, or already unknown; §2.2.1: an error response)."""

from __future__ import annotations

from typing import Any

from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import RemoteDetail, RemoteRefused
from authkit_mcp_cli.oauth.client_auth import ClientRegistration, client_auth
from authkit_mcp_cli.oauth.message import HttpRequest, form_request, load_json


def revocation_request(metadata: dict[str, Any], reg: ClientRegistration, *, token: str, hint: str) -> HttpRequest | None:
    """Revoke ``token`` (RFC 7009 §2.1); None when the AS has no ``revocation_endpoint`` (RFC 8414 §2)."""
    endpoint = metadata.get("revocation_endpoint")
    if not isinstance(endpoint, str):
        return None
    form = {"token": token, "token_type_hint": hint}
    return form_request(endpoint, form, client_auth(reg, form))


def parse_revocation_response(status: int, body: bytes, *, url: str | None = None) -> None:
    """Return when the token is revoked (RFC 7009 §2.2: HTTP 200); else raise what the AS said (§2.2.1)."""
    if status == 200:
        return
    data = load_json(body)
    remote = RemoteDetail.from_oauth_body(status, data, url)
    said = remote.error or "no OAuth error body"
    described = f" ({remote.error_description})" if remote.error_description else ""
    raise RemoteRefused(
        f"The revocation request was refused: {said}{described} [HTTP {status}].",
        code=ErrorCode.OAUTH_REVOCATION_REFUSED,
        # §2.2.1: 503 means "try again later"; anything else is the AS's verdict on this request
        hint="The AS is unavailable; try again later." if status == 503 else "The tokens may still be valid until they expire.",
        spec="RFC 7009 §2.2.1",
        url=url,
        remote=remote,
    )
