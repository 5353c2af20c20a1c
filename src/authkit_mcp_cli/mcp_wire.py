"""Authenticated MCP requests over the wire with the official SDK client
(both generations: ``auto`` negotiates 2026-07-28 and falls back to the
initialize handshake; ``legacy`` forces 2025-11-25).

The SDK turns an HTTP 401/403 into a generic JSON-RPC error, so a small
httpx2 auth hook records the last challenge; callers then decide whether to
refresh (401) or step up (403 insufficient_scope).

The SDK's httpx2 client comes from ``http.make_sdk_client``: same https
policy, User-Agent and size cap as every other request, and every MCP
request and response lands in ``--trace``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

import httpx2

from authkit_mcp_cli.challenge import ChallengeParseError, find_bearer, parse_www_authenticate
from authkit_mcp_cli.errors import AtomsAuthError, AuthChallenge, NetworkError, ProtocolError
from authkit_mcp_cli.http import HttpPolicy, make_sdk_client
from authkit_mcp_cli.trace import TraceWriter

__all__ = ["WIRE_MODES", "AuthChallenge", "Wire", "call_tool", "list_tools", "with_session"]

T = TypeVar("T")
Wire = Literal["auto", "legacy", "2026-07-28"]
WIRE_MODES: tuple[Wire, ...] = ("auto", "legacy", "2026-07-28")


class _BearerHook(httpx2.Auth):
    def __init__(self, token: str | None) -> None:
        self.token = token
        self.challenge: AuthChallenge | None = None
        self.requests = 0

    def auth_flow(self, request: httpx2.Request):
        if self.token:
            request.headers["Authorization"] = f"Bearer {self.token}"
        self.requests += 1
        response = yield request
        if response.status_code in (401, 403):
            try:
                bearer = find_bearer(parse_www_authenticate(response.headers.get_list("www-authenticate")))
            except ChallengeParseError:
                bearer = None
            self.challenge = AuthChallenge(
                response.status_code,
                error=bearer.get("error") if bearer else None,
                scope=bearer.get("scope") if bearer else None,
                description=bearer.get("error_description") if bearer else None,
                resource_metadata=bearer.get("resource_metadata") if bearer else None,
                url=str(request.url),
            )


async def with_session(
    server_url: str,
    token: str | None,
    operation: Callable[[Any], Awaitable[T]],
    *,
    wire: str = "auto",
    timeout: float = 30.0,
    trace: TraceWriter | None = None,
    allow_http: bool = False,
) -> T:
    """Run ``operation(client)`` on an MCP session authenticated with ``token`` (None: anonymously)."""
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    hook = _BearerHook(token)
    try:
        async with make_sdk_client(HttpPolicy(timeout=timeout, allow_insecure=allow_http), trace=trace, auth=hook) as http:
            async with Client(streamable_http_client(server_url, http_client=http), mode=wire) as client:
                return await operation(client)
    except Exception as exc:  # the SDK wraps transport failures in task-group exception groups
        if hook.challenge is not None:
            raise hook.challenge from None
        cause = _first_leaf(exc)
        if isinstance(cause, AtomsAuthError):  # ours: the transport's policy or size cap, a missing tool
            raise cause from None
        if isinstance(cause, (httpx2.ConnectError, httpx2.TimeoutException, OSError)):
            raise NetworkError(f"The MCP request to {server_url} failed: {type(cause).__name__}: {cause}.", code="network.mcp-unreachable", url=server_url) from None
        raise ProtocolError(f"The MCP request to {server_url} failed: {type(cause).__name__}: {cause}.", code="mcp.transport-failed", url=server_url, spec="MCP 2026-07-28 Transports") from None


def _first_leaf(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


async def list_tools(client: Any) -> list[dict[str, Any]]:
    result = await client.list_tools()
    return [{"name": t.name, "description": t.description} for t in result.tools]


async def call_tool(client: Any, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """tools/list first (as real clients do, and to name a missing tool), then tools/call."""
    tools = await list_tools(client)
    if name not in {t["name"] for t in tools}:
        raise ProtocolError(f"The server has no tool {name!r}; it offers: {', '.join(t['name'] for t in tools) or 'none'}.", code="mcp.unknown-tool")
    result = await client.call_tool(name, arguments)
    return result.model_dump(mode="json", by_alias=True, exclude_none=True)
