"""The registered client and how it authenticates at the token endpoint
(RFC 6749 §2.3.1; ``none`` for public clients, RFC 7591 §2; ``private_key_jwt``,
a fresh signed assertion on every request, RFC 7523 §2.2)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import UsageError


@dataclass(frozen=True)
class ClientRegistration:
    """What the client authenticates with at this AS."""

    client_id: str
    client_secret: str | None = None
    token_endpoint_auth_method: str = "none"
    redirect_uris: tuple[str, ...] = ()
    source: str = "dcr"  # dcr, cimd, pre-registered
    # private_key_jwt (RFC 7523 §2.2): the PEM file (its path, never the key), the JWS alg, kid, and the aud
    private_key: str | None = None
    signing_alg: str | None = None
    key_id: str | None = None
    assertion_audience: str | None = None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "token_endpoint_auth_method": self.token_endpoint_auth_method,
            "redirect_uris": list(self.redirect_uris),
            "source": self.source,
        }
        for name in ("private_key", "signing_alg", "key_id", "assertion_audience"):
            if getattr(self, name) is not None:
                doc[name] = getattr(self, name)
        return doc

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClientRegistration:
        return cls(
            client_id=str(data["client_id"]),
            client_secret=data.get("client_secret"),
            token_endpoint_auth_method=data.get("token_endpoint_auth_method") or "none",
            redirect_uris=tuple(data.get("redirect_uris") or ()),
            source=data.get("source") or "dcr",
            private_key=data.get("private_key"),
            signing_alg=data.get("signing_alg"),
            key_id=data.get("key_id"),
            assertion_audience=data.get("assertion_audience"),
        )


def client_auth(reg: ClientRegistration, form: dict[str, str]) -> dict[str, str]:
    """Apply the registered client authentication to ``form``; returns extra headers (RFC 6749 §2.3.1)."""
    if reg.token_endpoint_auth_method == "client_secret_basic":
        # §2.3.1: form-urlencode id and secret before base64
        raw = f"{quote(reg.client_id, safe='')}:{quote(reg.client_secret or '', safe='')}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
    if reg.token_endpoint_auth_method == "private_key_jwt":
        form.update(private_key_jwt_form(reg))
        return {}
    if reg.client_id:  # a grant may go without any client (RFC 7523 §3.1: a JWT bearer grant needs none)
        form["client_id"] = reg.client_id
    if reg.token_endpoint_auth_method == "client_secret_post":
        form["client_secret"] = reg.client_secret or ""
    return {}


def private_key_jwt_form(reg: ClientRegistration) -> dict[str, str]:
    """``client_id`` and a fresh client assertion signed with the registration's key (RFC 7523 §2.2, §3):
    ``aud`` is the AS's issuer identifier (the value RFC 7523 §3 item 3 names first, and the one
    draft-ietf-oauth-rfc7523bis makes the only one)."""
    if not (reg.private_key and reg.signing_alg and reg.assertion_audience):
        raise UsageError(
            f"The stored private_key_jwt client {reg.client_id} lacks its key file, algorithm or audience.",
            code=ErrorCode.LOGIN_CORRUPT_RECORD,
            hint="Log in again with --grant client-credentials --private-key FILE.",
        )
    from authkit_mcp_cli.oauth.assertion import assertion_form, client_assertion, load_private_key  # pyjwt, cryptography: only here

    key = load_private_key(reg.private_key)
    return {"client_id": reg.client_id, **assertion_form(client_assertion(reg.client_id, reg.assertion_audience, key, reg.signing_alg, reg.key_id))}
