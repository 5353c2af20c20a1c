"""Request bodies at the development AS: read within a cap, parsed without a
5xx whatever they hold, and a client that goes away mid-body logged as such.

- A body over ``capped.MAX_FORM_BYTES`` is not read further.
- JSON (registration requests, client metadata documents) nested deeper than
  ``MAX_JSON_DEPTH``, or holding a lone surrogate (``"\\ud800"``: valid JSON
  text, but no Unicode string, so it cannot be encoded back into a response
  or a page), is refused as ``invalid_client_metadata`` (RFC 7591 §3.2.2)
  before anything looks at it.
- A client that disconnects before its body is complete gets no answer (it
  cannot read one); serve logs the disconnect and the access line says 499
  (the status nginx gives a request its client closed), never a 500.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from authkit_mcp_cli.capped import MAX_FORM_BYTES, BodyTooLarge, read_capped
from authkit_mcp_cli.server.local_as.model import OAuthError

log = logging.getLogger("atoms_auth.serve.local_as")

MAX_JSON_DEPTH = 32  # client metadata is a flat object; jwks the deepest part (object, array, key, array)
CLIENT_CLOSED = 499


async def read_body(request: Request, limit: int = MAX_FORM_BYTES) -> bytes:
    """The whole body, or BodyTooLarge as soon as it passes ``limit``; ClientDisconnect passes through."""
    return await read_capped(request.stream(), limit)


async def read_form(request: Request) -> dict[str, str]:
    """An application/x-www-form-urlencoded body as a dict ({} when too large); invalid UTF-8 is replaced."""
    try:
        raw = await read_body(request)
    except BodyTooLarge:
        return {}
    return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))


class UnsafeJson(Exception):
    """JSON text serve will not hold: nested too deeply, or a string with a lone surrogate."""


def parse_json(raw: bytes) -> Any:
    """The JSON value of ``raw``; ValueError when it is not JSON in UTF-8, UnsafeJson when it is but
    nests deeper than MAX_JSON_DEPTH or holds a lone surrogate in a key or a value."""
    try:
        value = json.loads(raw)  # UnicodeDecodeError is a ValueError
    except RecursionError:
        raise UnsafeJson(f"it is nested more than {MAX_JSON_DEPTH} levels deep") from None
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:  # iterative: a value just under the parser's own limit must not overflow here either
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                raise UnsafeJson(f"it is nested more than {MAX_JSON_DEPTH} levels deep")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
        elif isinstance(item, str) and not _encodable(item):
            raise UnsafeJson("a string holds a lone surrogate (\\ud800-\\udfff), which is no Unicode text")
    return value


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def load_client_metadata(raw: bytes, what: str) -> Any:
    """A JSON body of client metadata, else ``invalid_client_metadata`` saying why (``what`` names the body)."""
    try:
        return parse_json(raw)
    except ValueError:
        raise OAuthError("invalid_client_metadata", f"{what} is not JSON in UTF-8") from None
    except UnsafeJson as exc:
        raise OAuthError("invalid_client_metadata", f"{what} is refused: {exc}") from None


Endpoint = Callable[[Request], Awaitable[Response]]


def disconnect_is_not_an_error(endpoint: Endpoint) -> Endpoint:
    """``endpoint``, with a client that disconnects mid-body logged as a disconnect (no traceback, no 500)."""

    async def guarded(request: Request) -> Response:
        try:
            return await endpoint(request)
        except ClientDisconnect:
            client = request.client.host if request.client else "-"
            log.info("%s %s: the client (%s) disconnected before sending its whole body", request.method, request.url.path, client)
            return Response(status_code=CLIENT_CLOSED)

    return guarded
