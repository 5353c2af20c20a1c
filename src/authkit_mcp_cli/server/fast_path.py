"""serve's MCP endpoint in ``--stateless`` mode (JSON responses): one POST,
one JSON-RPC exchange, answered in the request's own task.

For the handshake-era wire (2025-11-25 and earlier, or no
``MCP-Protocol-Version`` header) the SDK's stateless manager builds, per
request, a ``StreamableHTTPServerTransport``, memory streams, a JSON-RPC
dispatcher and a server task in its task group, only to route one message to
``ServerRunner.on_request`` and one reply back (issue 16 item 3: about half
of serve's CPU per request). This endpoint runs the same kernel directly
through the SDK's public single-exchange driver, ``mcp.server.runner.serve_one``
(what the SDK's own 2026-07-28 path uses), with a born-ready connection built
as the stateless manager builds it, and writes the reply as the transport
would: the same model, ``model_dump_json(by_alias=True, exclude_unset=True)``,
the same status and headers. Handler exceptions map as the SDK's dispatcher
maps them (``MCPError``/``ValidationError`` through
``handler_exception_to_error_data``, anything else ``code 0`` with its
message, logged).

Everything that is not a well-formed POST of one JSON-RPC message which the
transport would accept goes to the SDK unchanged, with the body replayed:
other methods, the 2026-07-28 wire (the SDK's own single-exchange entry),
failed Host/Origin/Content-Type/Accept checks, oversized, unparseable or
invalid bodies. Their answers are the SDK's by construction.
tests/integration/test_serve_fast_path.py compares both paths' answers.

The one private name it needs, the lifespan state the manager's ``run()``
entered, comes through ``seams.mcp_private``; an SDK without it turns the
fast path off (:func:`stateless_endpoint` logs so once): every request then
takes the SDK's own ``handle_request``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
import pydantic_core
from mcp.server.connection import Connection
from mcp.server.runner import ServerRunner, aclose_shielded, serve_one
from mcp.server.streamable_http import check_accept_headers
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecurityMiddleware
from mcp.shared.dispatcher import CallOptions
from mcp.shared.exceptions import NoBackChannelError
from mcp.shared.jsonrpc_dispatcher import handler_exception_to_error_data
from mcp.shared.message import MessageMetadata, ServerMessageMetadata
from mcp.shared.transport_context import TransportContext
from mcp_types import (
    DEFAULT_NEGOTIATED_VERSION,
    ErrorData,
    JSONRPCError,
    JSONRPCNotification,
    JSONRPCRequest,
    JSONRPCResponse,
    RequestId,
    jsonrpc_message_adapter,
)
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from pydantic import ValidationError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authkit_mcp_cli.seams.mcp_private import lifespan_state_reader

log = logging.getLogger("mcp.shared.jsonrpc_dispatcher")  # where the SDK's dispatcher logs a handler's crash
serve_log = logging.getLogger("atoms_auth.serve")

JSON_HEADERS = (b"content-type", b"application/json")
# what the stateless manager gives every message it dispatches (no back-channel, no session)
TRANSPORT = TransportContext(kind="streamable-http", can_send_request=False)


@dataclass
class SingleReplyContext:
    """The request-scoped channel of a JSON-response POST: one reply and nothing else.

    The transport in JSON-response mode writes only the request's own response
    into its body; a related notification or progress has no wire and is
    dropped, and a server-initiated request has nowhere to land
    (``NoBackChannelError``), as with ``can_send_request=False`` there."""

    request_id: RequestId | None
    message_metadata: MessageMetadata
    transport: TransportContext = TRANSPORT
    cancel_requested: anyio.Event = field(default_factory=anyio.Event)

    @property
    def can_send_request(self) -> bool:
        return False

    async def send_raw_request(self, method: str, params: Mapping[str, Any] | None, opts: CallOptions | None = None) -> dict[str, Any]:
        raise NoBackChannelError(method)

    async def notify(self, method: str, params: Mapping[str, Any] | None, opts: CallOptions | None = None) -> None:
        return None

    async def progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        return None


def stateless_endpoint(manager: StreamableHTTPSessionManager) -> ASGIApp:
    """serve --stateless's MCP endpoint: the fast path, or the SDK's own handling when this SDK keeps its
    lifespan state elsewhere (said once, here at start-up; the answers are the same, slower)."""
    if lifespan_state_reader(manager) is None:
        serve_log.warning("The --stateless fast path is off: this MCP SDK's session manager keeps no lifespan state it can read; every request takes the SDK's own path.")
        return manager.handle_request
    return StatelessJsonEndpoint(manager)


class StatelessJsonEndpoint:
    """ASGI app for the MCP endpoint of a stateless, JSON-response session manager."""

    def __init__(self, manager: StreamableHTTPSessionManager) -> None:
        if not (manager.stateless and manager.json_response):
            raise ValueError("the single-exchange endpoint serves a stateless manager with JSON responses only")
        read_lifespan_state = lifespan_state_reader(manager)
        if read_lifespan_state is None:
            raise ValueError("this MCP SDK's session manager keeps no lifespan state the endpoint can read")
        self.manager = manager
        self.lifespan_state = read_lifespan_state  # lifespan_state(manager): what run() entered, once
        self.server = manager.app
        self.sdk = manager.handle_request  # the SDK's own path: body limit, era routing, transport
        self.security = TransportSecurityMiddleware(manager.security_settings)
        self.max_body = manager.max_request_body_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.sdk(scope, receive, send)
            return
        version: str | None = None
        for name, value in scope["headers"]:
            if name == b"mcp-protocol-version":
                version = value.decode("latin-1")
                break
        if version is not None and version not in HANDSHAKE_PROTOCOL_VERSIONS:
            await self.sdk(scope, receive, send)  # the 2026-07-28 wire: the SDK's single-exchange entry
            return
        body, complete, rest = await self._read_body(scope, receive)
        if not complete:
            await self.sdk(scope, _replay(rest, receive), send)  # too large or cut short: the SDK answers (413)
            return
        request = Request(scope, _replay(rest, receive))
        message = await self._accepted_message(request, body)
        if message is None:
            await self.sdk(scope, _replay(rest, receive), send)  # the SDK's own 4xx, byte for byte
            return
        lifespan_state = self.lifespan_state(self.manager)
        connection = Connection.from_envelope(version if version is not None else DEFAULT_NEGOTIATED_VERSION, None, None)
        metadata = ServerMessageMetadata(request_context=request, can_send_request=False)
        if not isinstance(message, JSONRPCRequest):
            # a notification or a response: 202, then the notification is handled (streamable HTTP §Sending Messages 4)
            await send({"type": "http.response.start", "status": 202, "headers": [JSON_HEADERS, (b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            if isinstance(message, JSONRPCNotification):
                runner = ServerRunner(self.server, connection, lifespan_state)
                try:
                    await runner.on_notify(SingleReplyContext(None, metadata), message.method, message.params)
                finally:
                    await aclose_shielded(connection)
            return
        context = SingleReplyContext(message.id, metadata)
        reply: JSONRPCResponse | JSONRPCError
        try:
            result = await serve_one(self.server, context, message.method, message.params, connection=connection, lifespan_state=lifespan_state)
            reply = JSONRPCResponse(jsonrpc="2.0", id=message.id, result=result)
        except Exception as exc:  # noqa: BLE001 - the dispatcher's exception-to-wire boundary, as the SDK draws it
            error = handler_exception_to_error_data(exc)
            if error is None:
                log.exception("handler for %r raised", message.method)
                error = ErrorData(code=0, message=str(exc))  # the SDK's dispatcher pins code 0 (v1 compat)
            reply = JSONRPCError(jsonrpc="2.0", id=message.id, error=error)
        payload = reply.model_dump_json(by_alias=True, exclude_unset=True).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [JSON_HEADERS, (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})

    async def _read_body(self, scope: Scope, receive: Receive) -> tuple[bytes, bool, list[Message]]:
        """The whole body if it is within the SDK's limit; else what was read, to replay to the SDK."""
        messages: list[Message] = []
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or int(value) > self.max_body:
                    return b"", False, messages
                break
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return b"", False, messages
            chunk = message.get("body", b"")
            size += len(chunk)
            chunks.append(chunk)
            if size > self.max_body:
                return b"", False, messages
            if not message.get("more_body", False):
                body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
                return body, True, [{"type": "http.request", "body": body, "more_body": False}]

    async def _accepted_message(self, request: Request, body: bytes) -> Any:
        """The JSON-RPC message, if the SDK's transport would take it; None for anything it refuses."""
        if await self.security.validate_request(request, is_post=True) is not None:
            return None
        has_json, _ = check_accept_headers(request)
        if not has_json:
            return None
        content_type = request.headers.get("content-type", "")
        if not any(part.strip() == "application/json" for part in content_type.split(";")[0].split(",")):
            return None
        try:
            return jsonrpc_message_adapter.validate_python(pydantic_core.from_json(body), by_name=False)
        except (ValueError, ValidationError):
            return None


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
