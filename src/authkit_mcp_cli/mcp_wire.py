"""Authenticated MCP requests over the wire with the official SDK client
(both generations: ``auto`` negotiates 2026-07-28 and falls back to the
initialize handshake; ``legacy`` forces 2025-11-25).

The SDK turns an HTTP 401/403 into a generic JSON-RPC error, so a small
httpx2 auth hook records the last challenge (read by the one rule of
``challenge.Challenges``); callers then decide whether to
refresh (401) or step up (403 insufficient_scope). The same hook keeps the
status and body of any other error answer to a POST, so a failure names what
the server said (``mcp.http-error``) instead of the SDK's "Server returned an
error response". Server log notifications reach the caller's ``on_log``.

The SDK's httpx2 client comes from the run's ``http.HttpSession``: same https
policy, User-Agent and size cap as every other request, and every MCP
request and response lands in ``--trace``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import httpx2

from authkit_mcp_cli.challenge import Challenges
from authkit_mcp_cli.error_codes import ErrorCode, network_code
from authkit_mcp_cli.errors import AtomsAuthError, AuthChallenge, NetworkError, ProtocolError, RemoteDetail, RemoteRefused
from authkit_mcp_cli.http import HttpSession
from authkit_mcp_cli.safe_text import escape_control, excerpt

if TYPE_CHECKING:  # DPoP (pyjwt, cryptography) loads only for a DPoP-bound token (issue #16 item 2)
    from authkit_mcp_cli.oauth.dpop import DpopHandle, DpopKey

__all__ = ["WIRE_MODES", "AuthChallenge", "LogLine", "Wire", "call_tool", "list_tools", "with_session"]

T = TypeVar("T")
Wire = Literal["auto", "legacy", "2026-07-28"]
WIRE_MODES: tuple[Wire, ...] = ("auto", "legacy", "2026-07-28")
LOG_LEVEL = "info"  # the opt-in a 2026-07-28 server needs before it sends log notifications (handshake-era servers send what they like)
LOG_TAIL_GRACE = 0.05  # seconds: notifications on the standalone GET stream can trail the result by a millisecond
SPEC_TRANSPORT = "MCP 2026-07-28 Transports: Streamable HTTP"


@dataclass(frozen=True)
class LogLine:
    """A server log notification (``notifications/message``), escaped for a terminal."""

    level: str
    logger: str | None
    data: str

    def __str__(self) -> str:
        return f"{self.level}" + (f" [{self.logger}]" if self.logger else "") + f" {self.data}"


@dataclass(frozen=True)
class HttpFailure:
    """The last POST to the MCP endpoint answered with an error status other than a 401/403 challenge."""

    status: int
    url: str
    body: bytes
    content_type: str
    with_token: bool


class _BearerHook(httpx2.Auth):
    """Sets the token on every request: ``Bearer``, or ``DPoP`` with a fresh proof (``ath``) per request
    (RFC 9449 §7.1), retried once with the server's nonce on ``use_dpop_nonce`` (§9)."""

    def __init__(self, token: str | None, dpop: DpopKey | None = None) -> None:
        self.token = token
        self.dpop: DpopHandle | None = None  # the key, and the server's latest nonce
        if dpop is not None and token:
            from authkit_mcp_cli.oauth.dpop import DpopHandle  # pyjwt and cryptography load only for a bound token

            self.dpop = DpopHandle.for_key(dpop)
        self.challenge: AuthChallenge | None = None
        self.failure: HttpFailure | None = None
        self.requests = 0

    def _authorize(self, request: httpx2.Request) -> None:
        if not self.token:
            return
        if self.dpop is None:
            request.headers["Authorization"] = f"Bearer {self.token}"
            return
        request.headers["Authorization"] = f"DPoP {self.token}"
        request.headers["DPoP"] = self.dpop.proof(request.method, str(request.url), access_token=self.token)

    async def async_auth_flow(self, request: httpx2.Request):
        self._authorize(request)
        self.requests += 1
        response = yield request
        if self.dpop is not None and response.headers.get("dpop-nonce"):
            error = Challenges.read(response.status_code, response.headers.get_list("www-authenticate")).error
            if self.dpop.retry_with_nonce(str(request.url), response.status_code, b"", response.headers["dpop-nonce"], www_authenticate_error=error):
                self._authorize(request)  # RFC 9449 §9: once, with a new proof carrying the nonce
                self.requests += 1
                response = yield request
                self.dpop.retry_with_nonce(str(request.url), response.status_code, b"", response.headers.get("dpop-nonce"))  # keep a newer nonce
        if response.status_code in (401, 403):
            self.challenge = Challenges.read(response.status_code, response.headers.get_list("www-authenticate")).refusal(str(request.url))
        elif request.method == "POST":
            # only POSTs carry requests; GET (the optional event stream) and DELETE (session end) may fail harmlessly.
            # A success clears an earlier failure: in auto mode a handshake-era server answers the first probe with 400.
            self.failure = None
            if response.status_code >= 400:
                body = await response.aread()  # the SDK reads it again from the cache; the transport caps its size
                self.failure = HttpFailure(response.status_code, str(request.url), body, response.headers.get("content-type", ""), bool(self.token))


def http_error(failure: HttpFailure, server_url: str) -> RemoteRefused:
    """``mcp.http-error``: the MCP endpoint answered an error status and no Bearer challenge."""
    data: Any = None
    with contextlib.suppress(ValueError):
        data = json.loads(failure.body)
    remote = RemoteDetail.from_oauth_body(failure.status, data, failure.url)
    shown = excerpt(failure.body)
    message = f"The MCP server answered HTTP {failure.status} with no Bearer challenge; body: {shown}"
    if failure.status >= 500 and failure.with_token:
        message += ". The request carried an access token; a server answers a token it does not accept with 401 and a WWW-Authenticate challenge (RFC 6750 §3.1), not with a server error"
        hint = "The server failed on this request: check its logs."
    elif failure.status >= 500:
        hint = "The server failed on this request: check its logs."
    else:
        hint = "The server refused the request itself (not the token): check the server URL, the --wire mode and the tool's arguments."
    return RemoteRefused(message + ".", code=ErrorCode.MCP_HTTP_ERROR, hint=hint, spec=SPEC_TRANSPORT + "; RFC 6750 §3.1", url=failure.url, remote=remote)


async def with_session(
    server_url: str,
    token: str | None,
    operation: Callable[[Any], Awaitable[T]],
    *,
    http: HttpSession,
    wire: str = "auto",
    on_log: Callable[[LogLine], None] | None = None,
    dpop: dict[str, str] | None = None,
) -> T:
    """Run ``operation(client)`` on an MCP session authenticated with ``token`` (None: anonymously), through
    ``http``'s SDK client (its deadline, https rule and trace); ``dpop``: the private JWK the token is bound
    to (the DPoP scheme and a proof per request).

    Server log notifications go to ``on_log`` (escaped); the SDK's own log
    records (a notification that arrives as the session closes) are kept off
    the terminal unless ATOMS_AUTH_DEBUG is set.
    """
    import anyio
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    hook = _BearerHook(token, _dpop_key(dpop) if dpop else None)
    logs = 0

    async def logging_callback(params: Any) -> None:
        nonlocal logs
        logs += 1
        if on_log is not None:
            on_log(log_line(params))

    try:
        with _quiet_sdk_logs():
            async with http.sdk_client(auth=hook) as sdk_http:
                async with Client(streamable_http_client(server_url, http_client=sdk_http), mode=wire, logging_callback=logging_callback, log_level=LOG_LEVEL) as client:  # type: ignore[arg-type]
                    result = await operation(client)
                    if logs:
                        await anyio.sleep(LOG_TAIL_GRACE)
                    return result
    except Exception as exc:  # the SDK wraps transport failures in task-group exception groups
        if hook.challenge is not None:
            raise hook.challenge from None
        cause = _first_leaf(exc)
        if isinstance(cause, AtomsAuthError):  # ours: the transport's policy or size cap, a missing tool
            raise cause from None
        if hook.failure is not None:
            raise http_error(hook.failure, server_url) from None
        if isinstance(cause, (httpx2.ConnectError, httpx2.TimeoutException, OSError)):
            from authkit_mcp_cli.discovery import NETWORK_HINTS  # worded and coded as login's discovery does (issue #15 item 7)
            from authkit_mcp_cli.transport import describe_transport_error

            kind, text = describe_transport_error(cause, server_url, httpx2)
            hint = NETWORK_HINTS.get(kind, "Check the URL, that the server is running, and your network.")
            raise NetworkError(f"The MCP server {server_url} could not be reached: {text}.", code=network_code(kind), hint=hint, url=server_url) from None
        from mcp.shared.exceptions import MCPError

        if isinstance(cause, MCPError):
            raise RemoteRefused(
                f"The MCP server answered with JSON-RPC error {cause.code}: {escape_control(cause.message)}.",
                code=ErrorCode.MCP_JSONRPC_ERROR,
                hint="The server refused the request: check the tool's name and arguments (atoms-auth call lists the tools).",
                spec="JSON-RPC 2.0 §5.1; " + SPEC_TRANSPORT,
                url=server_url,
            ) from None
        raise ProtocolError(f"The MCP request to {server_url} failed: {type(cause).__name__}: {cause}.", code=ErrorCode.MCP_TRANSPORT_FAILED, url=server_url, spec=SPEC_TRANSPORT) from None


def _dpop_key(jwk: dict[str, str]) -> DpopKey:
    from authkit_mcp_cli.oauth.dpop import DpopKey

    return DpopKey.from_json(jwk)


def log_line(params: Any) -> LogLine:
    """A ``notifications/message`` as a line: level, logger, data (JSON unless a string), control characters escaped."""
    data = params.data if isinstance(params.data, str) else json.dumps(params.data, ensure_ascii=False, default=str)
    logger = escape_control(str(params.logger)) if params.logger else None
    return LogLine(escape_control(str(params.level)), logger, escape_control(data))


@contextlib.contextmanager
def _quiet_sdk_logs() -> Iterator[None]:
    """Keep the SDK's log records (with their tracebacks) off stderr: Python prints them when nothing handles them."""
    if os.environ.get("ATOMS_AUTH_DEBUG"):
        yield
        return
    sdk = logging.getLogger("mcp")
    handler = logging.NullHandler()
    sdk.addHandler(handler)
    previous = sdk.propagate
    sdk.propagate = False
    try:
        yield
    finally:
        sdk.removeHandler(handler)
        sdk.propagate = previous


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
        offered = ", ".join(escape_control(t["name"]) for t in tools) or "none"
        raise RemoteRefused(
            f"The MCP server has no tool {escape_control(name)!r}; it offers: {offered}.",
            code=ErrorCode.MCP_UNKNOWN_TOOL,
            hint=f"Pick one of: {offered} (atoms-auth call without --tool lists them with their descriptions).",
            spec="MCP 2026-07-28 Server Features: Tools (tools/list)",
        )
    result = await client.call_tool(name, arguments)
    return result.model_dump(mode="json", by_alias=True, exclude_none=True)
