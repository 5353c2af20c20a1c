"""The registered client and how it authenticates at the token endpoint
(RFC 6749 §2.3.1; ``none`` for public clients, RFC 7591 §2)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote


@dataclass(frozen=True)
class ClientRegistration:
    """What the client authenticates with at this AS."""

    client_id: str
    client_secret: str | None = None
    token_endpoint_auth_method: str = "none"
    redirect_uris: tuple[str, ...] = ()
    source: str = "dcr"  # dcr, cimd, pre-registered

    def to_json(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "token_endpoint_auth_method": self.token_endpoint_auth_method,
            "redirect_uris": list(self.redirect_uris),
            "source": self.source,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClientRegistration:
        return cls(
            client_id=str(data["client_id"]),
            client_secret=data.get("client_secret"),
            token_endpoint_auth_method=data.get("token_endpoint_auth_method") or "none",
            redirect_uris=tuple(data.get("redirect_uris") or ()),
            source=data.get("source") or "dcr",
        )


def client_auth(reg: ClientRegistration, form: dict[str, str]) -> dict[str, str]:
    """Apply the registered client authentication to ``form``; returns extra headers (RFC 6749 §2.3.1)."""
    if reg.token_endpoint_auth_method == "client_secret_basic":
        # §2.3.1: form-urlencode id and secret before base64
        raw = f"{quote(reg.client_id, safe='')}:{quote(reg.client_secret or '', safe='')}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
    form["client_id"] = reg.client_id
    if reg.token_endpoint_auth_method == "client_secret_post":
        form["client_secret"] = reg.client_secret or ""
    return {}
