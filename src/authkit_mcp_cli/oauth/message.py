"""What every OAuth step shares: a request as plain data (built without I/O,
sent by the caller) and the reading of an error response (RFC 6749 §5.2,
RFC 7591 §3.2.2)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import ProtocolError, RemoteDetail, RemoteRefused


@dataclass(frozen=True)
class HttpRequest:
    """One request to an AS endpoint, built by a ``*_request`` function and sent by the caller."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None = None


def form_request(url: str, form: dict[str, str], headers: dict[str, str]) -> HttpRequest:
    """A form-encoded POST that asks for JSON (RFC 6749 §3.2, §4.1.3)."""
    return HttpRequest("POST", url, {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json", **headers}, urlencode(form).encode())


def load_json(body: bytes) -> Any:
    """The body as JSON, or None when it is not JSON."""
    try:
        return json.loads(body)
    except ValueError:
        return None


def error_response(status: int, body: bytes, what: str, *, spec: str = "RFC 6749 §5.2", url: str | None = None) -> RemoteRefused | ProtocolError:
    """An error response as an error: the remote's own ``error`` kept (RFC 6749 §5.2), or a protocol error without one."""
    data = load_json(body)
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        remote = RemoteDetail.from_oauth_body(status, data, url)
        described = f" ({remote.error_description})" if remote.error_description else ""
        return RemoteRefused(f"{what} was refused: {remote.error}{described} [HTTP {status}].", code=ErrorCode.OAUTH_REMOTE_ERROR, spec=spec, url=url, remote=remote)
    snippet = body[:120].decode("utf-8", "replace").strip()
    return ProtocolError(
        f"{what} failed with HTTP {status} and no OAuth error body ({snippet!r}).",
        code=ErrorCode.OAUTH_UNEXPECTED_RESPONSE,
        spec=spec,
        url=url,
        remote=RemoteDetail(status=status, url=url),
    )
