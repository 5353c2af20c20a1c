"""doctor --active keeps the last access token it used for each server, so a
later run has an expired token the AS itself signed at hand for
server.rejects-expired-token (RFC 6750 §3.1; RFC 9068 §4) without waiting.

One 0600 file per server under the store's ``doctor/`` folder, beside the
stored logins and with their protection; it is replaced on every --active run,
and a kept token is only ever sent to the server it was issued for."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from authkit_mcp_cli.store import _slug

if TYPE_CHECKING:
    from authkit_mcp_cli.store import Store


def _path(store: Store, server_url: str) -> Path:
    return store._dir("doctor") / f"last-token-{_slug(server_url)}.json"


def load(store: Store, server_url: str) -> tuple[str, float | None] | None:
    """(the access token, when it expires) doctor --active last used for ``server_url``, if any."""
    data: dict[str, Any] | None = store.read(_path(store, server_url))
    if not data or data.get("server_url") != server_url or not isinstance(data.get("access_token"), str):
        return None
    expires_at = data.get("expires_at")
    return data["access_token"], float(expires_at) if isinstance(expires_at, (int, float)) else None


def keep(store: Store, server_url: str, access_token: str, expires_at: float | None) -> None:
    store.write(_path(store, server_url), {"server_url": server_url, "access_token": access_token, "expires_at": expires_at})
