"""Outbound HTTP: the one client factory, and ``exchange`` that never raises
for network trouble but records it.

Every client atoms-auth uses (the CLI's, the MCP SDK's, serve's fetches of
JWKS, AS documents and CIMD) comes from :func:`make_client` or
:func:`make_sdk_client`: one User-Agent, the https-except-loopback policy,
the size cap and the trace, applied by ``transport.policy_transport``.

:func:`exchange` adds what a single protocol step needs on top: an overall
deadline per hop (so a server that drips bytes cannot hold us past
``--timeout``), a cap on the decoded body (compression bombs), redirects
followed by hand and recorded (loops detected), and failures named as data.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from authkit_mcp_cli._version import __version__
from authkit_mcp_cli.capped import MAX_BODY_BYTES, MAX_MCP_BODY_BYTES, BodyTooLarge, kib, read_capped
from authkit_mcp_cli.errors import NetworkError
from authkit_mcp_cli.trace import TraceWriter
from authkit_mcp_cli.transport import describe_transport_error, policy_transport
from authkit_mcp_cli.urls import is_secure_url
from authkit_mcp_cli.words import plural

if TYPE_CHECKING:  # httpx loads when a client is made: `call` with a stored token talks through the SDK's httpx2 only (issue #16 item 2)
    import ssl

    import httpx


def _headers() -> httpx.Headers:
    import httpx

    return httpx.Headers()

# RFC 9110 §10.1.5 product token. No URL: the distribution is not on PyPI and the repository has no
# public address yet (a link to a page that does not exist would mislead an operator reading logs).
USER_AGENT = f"atoms-auth/{__version__} (authkit-mcp-cli)"
DEFAULT_TIMEOUT = 10.0
MAX_REDIRECTS = 5


@dataclass
class Hop:
    status: int
    url: str
    location: str


@dataclass
class Exchange:
    """One request and what came back (or why nothing did)."""

    method: str
    url: str
    request_headers: dict[str, str] = field(default_factory=dict)
    request_body: bytes | None = None
    status: int | None = None
    headers: httpx.Headers = field(default_factory=_headers)
    body: bytes = b""
    elapsed_ms: float = 0.0
    error_kind: str | None = None  # dns, connect, refused, tls, timeout, too_large, redirect, insecure, protocol
    error: str | None = None
    redirects: list[Hop] = field(default_factory=list)
    final_url: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def header_list(self, name: str) -> list[str]:
        return self.headers.get_list(name)

    def json(self) -> tuple[Any, str | None]:
        """(parsed JSON, None) or (None, why it is not JSON)."""
        if not self.ok:
            return None, self.error or "no response"
        try:
            return json.loads(self.body.decode("utf-8")), None
        except UnicodeDecodeError:
            return None, "the body is not UTF-8"
        except ValueError:
            ctype = self.header("content-type") or "no content type"
            start = self.body[:60].decode("utf-8", "replace").strip()
            return None, f"the body is not JSON ({ctype}; starts {start!r})"

    def json_object(self) -> tuple[dict[str, Any] | None, str | None]:
        data, err = self.json()
        if err:
            return None, err
        if not isinstance(data, dict):
            return None, f"the body is JSON but not an object ({type(data).__name__})"
        return data, None

    def summary(self) -> str:
        if self.error:
            return f"{self.method} {self.url} -> {self.error}"
        via = f" (after {plural(len(self.redirects), 'redirect')})" if self.redirects else ""
        return f"{self.method} {self.url} -> {self.status}{via} in {self.elapsed_ms:.0f} ms"

    def to_evidence(self) -> dict[str, Any]:
        ev: dict[str, Any] = {"request": f"{self.method} {self.url}"}
        if self.error:
            ev["error"] = self.error
        else:
            ev["status"] = self.status
            ev["content_type"] = self.header("content-type")
        if self.redirects:
            ev["redirects"] = [f"{h.status} {h.url} -> {h.location}" for h in self.redirects]
        ev["elapsed_ms"] = round(self.elapsed_ms, 1)
        return ev


@dataclass
class HttpPolicy:
    timeout: float = DEFAULT_TIMEOUT
    allow_insecure: bool = False  # http:// to a non-loopback host
    max_body: int = MAX_BODY_BYTES


def make_client(policy: HttpPolicy | None = None, *, timeout: float | None = None, trace: TraceWriter | None = None, verify: bool | ssl.SSLContext = True) -> httpx.AsyncClient:
    """The httpx client for discovery, OAuth and serve's fetches; every request it sends is traced.

    Without a policy the transport enforces nothing itself (``exchange`` applies
    the per-call policy); with one, even a direct ``client.get`` obeys it.
    """
    import httpx

    policy = policy or HttpPolicy(timeout=timeout or DEFAULT_TIMEOUT, allow_insecure=True)
    inner = httpx.AsyncHTTPTransport(verify=verify, limits=httpx.Limits(max_connections=32, max_keepalive_connections=16))
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout or policy.timeout),
        follow_redirects=False,  # followed by hand in exchange(), recorded
        headers={"User-Agent": USER_AGENT},
        transport=policy_transport(httpx, inner, trace=trace, allow_insecure=policy.allow_insecure, max_body=None),
    )


def make_sdk_client(policy: HttpPolicy, *, trace: TraceWriter | None = None, auth: Any = None) -> Any:
    """The httpx2 client the MCP SDK talks through: same policy, User-Agent and trace as ours."""
    import httpx2

    return httpx2.AsyncClient(
        auth=auth,
        timeout=httpx2.Timeout(policy.timeout),
        follow_redirects=True,  # as the SDK's own client: e.g. POST /api/mcp/ answers 307
        headers={"User-Agent": USER_AGENT},
        transport=policy_transport(httpx2, httpx2.AsyncHTTPTransport(), trace=trace, allow_insecure=policy.allow_insecure, max_body=MAX_MCP_BODY_BYTES),
    )


@dataclass
class HttpSession:
    """How one run talks HTTP: the policy (deadline, https except loopback), the trace and the TLS
    verification, held once (by the client Context) and turned into both clients, ours (httpx) and the
    MCP SDK's (httpx2), so no call site unpacks them (gh: ``Factory.HttpClient``)."""

    policy: HttpPolicy = field(default_factory=HttpPolicy)
    trace: TraceWriter | None = None
    verify: bool | ssl.SSLContext = True

    def client(self) -> httpx.AsyncClient:
        """A new httpx client for discovery and OAuth (the caller closes it). Its transport leaves the https
        rule to :func:`exchange`, which applies ``policy`` per request: doctor probes an http:// server on
        purpose, to report it."""
        return make_client(timeout=self.policy.timeout, trace=self.trace, verify=self.verify)

    def sdk_client(self, auth: Any = None) -> Any:
        """A new httpx2 client for the MCP SDK, with ``auth`` (the bearer or DPoP hook) on every request."""
        return make_sdk_client(self.policy, trace=self.trace, auth=auth)


async def exchange(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    policy: HttpPolicy,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
    follow_redirects: bool = True,
) -> Exchange:
    ex = Exchange(method=method, url=url, request_headers=dict(headers or {}), request_body=content)
    started = time.perf_counter()
    seen = {url}
    current = url
    try:
        while True:
            if not is_secure_url(current) and not policy.allow_insecure:
                ex.error_kind = "insecure"
                ex.error = f"refused to send a request over plain http to a non-loopback host ({current}); use https or --allow-http"
                return ex
            await _one_hop(client, ex, method, current, policy, headers, content)
            if ex.error or not follow_redirects or ex.status not in (301, 302, 303, 307, 308):
                return ex
            location = ex.header("location")
            if not location:
                return ex
            target = urljoin(current, location)
            ex.redirects.append(Hop(ex.status, current, target))
            if target in seen:
                ex.error_kind, ex.error = "redirect", f"redirect loop: {target} was already visited"
                return ex
            if len(ex.redirects) > MAX_REDIRECTS:
                ex.error_kind, ex.error = "redirect", f"more than {MAX_REDIRECTS} redirects"
                return ex
            seen.add(target)
            if ex.status == 303:
                method, content = "GET", None
            current = target
    finally:
        ex.final_url = current
        ex.elapsed_ms = (time.perf_counter() - started) * 1000


async def _one_hop(
    client: httpx.AsyncClient,
    ex: Exchange,
    method: str,
    url: str,
    policy: HttpPolicy,
    headers: dict[str, str] | None,
    content: bytes | None,
) -> None:
    import httpx

    ex.status, ex.body, ex.headers = None, b"", httpx.Headers()
    request = client.build_request(method, url, headers=headers, content=content)
    import asyncio  # here: doctor --list-checks imports this module (through the catalogue) without asyncio

    try:
        async with asyncio.timeout(policy.timeout):
            response = await client.send(request, stream=True)
            try:
                ex.status, ex.headers = response.status_code, response.headers
                try:
                    ex.body = await read_capped(response.aiter_bytes(), policy.max_body)  # decoded: the cap also stops compression bombs
                except BodyTooLarge as big:
                    ex.body, ex.error_kind, ex.error = big.head, "too_large", f"response body larger than {kib(policy.max_body)} (stopped reading)"
            finally:
                await response.aclose()
    except TimeoutError:
        ex.error_kind, ex.error = "timeout", f"no complete answer within {policy.timeout:g} s (timeout)"
    except httpx.TimeoutException as exc:
        phase = {"ConnectTimeout": "connecting", "ReadTimeout": "waiting for the response", "WriteTimeout": "sending", "PoolTimeout": "waiting for a connection"}.get(type(exc).__name__, "")
        ex.error_kind, ex.error = "timeout", f"timed out {phase} after {policy.timeout:g} s".replace("  ", " ")
    except (httpx.HTTPError, NetworkError) as exc:  # NetworkError: the transport's policy refused
        ex.error_kind, ex.error = describe_transport_error(exc, url)
