"""HTTP for the CLI: one client factory and one ``exchange`` that never raises
for network trouble but records it.

Every request goes through :func:`exchange`, which applies the
https-except-loopback policy, an overall deadline per hop (so a server that
drips bytes cannot hold us past ``--timeout``), a response size cap,
redirects followed by hand and recorded (loops detected), and the trace.
"""

from __future__ import annotations

import asyncio
import errno
import json
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from authkit_mcp_cli import __version__
from authkit_mcp_cli.trace import TraceWriter
from authkit_mcp_cli.urls import is_secure_url

USER_AGENT = f"atoms-auth/{__version__} (+https://pypi.org/project/authkit-mcp-cli/)"
DEFAULT_TIMEOUT = 10.0
MAX_BODY_BYTES = 1024 * 1024
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
    headers: httpx.Headers = field(default_factory=httpx.Headers)
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
        via = f" (after {len(self.redirects)} redirect(s))" if self.redirects else ""
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


def make_client(*, timeout: float = DEFAULT_TIMEOUT, verify: bool | ssl.SSLContext = True) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,  # followed by hand in exchange(), recorded
        headers={"User-Agent": USER_AGENT},
        verify=verify,
        limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
    )


async def exchange(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    policy: HttpPolicy,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
    follow_redirects: bool = True,
    trace: TraceWriter | None = None,
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
            await _one_hop(client, ex, method, current, policy, headers, content, trace)
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
    trace: TraceWriter | None,
) -> None:
    hop_start = time.perf_counter()
    ex.status, ex.body, ex.headers = None, b"", httpx.Headers()
    request = client.build_request(method, url, headers=headers, content=content)
    try:
        async with asyncio.timeout(policy.timeout):
            response = await client.send(request, stream=True)
            try:
                ex.status, ex.headers = response.status_code, response.headers
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():  # decoded, so the cap also stops compression bombs
                    size += len(chunk)
                    if size > policy.max_body:
                        ex.error_kind = "too_large"
                        ex.error = f"response body larger than {policy.max_body // 1024} KiB (stopped reading)"
                        break
                    chunks.append(chunk)
                ex.body = b"".join(chunks)
            finally:
                await response.aclose()
    except TimeoutError:
        ex.error_kind, ex.error = "timeout", f"no complete answer within {policy.timeout:g} s (timeout)"
    except httpx.TimeoutException as exc:
        phase = {"ConnectTimeout": "connecting", "ReadTimeout": "waiting for the response", "WriteTimeout": "sending", "PoolTimeout": "waiting for a connection"}.get(type(exc).__name__, "")
        ex.error_kind, ex.error = "timeout", f"timed out {phase} after {policy.timeout:g} s".replace("  ", " ")
    except httpx.HTTPError as exc:
        ex.error_kind, ex.error = describe_transport_error(exc, url)
    finally:
        if trace is not None:
            trace.record(ex, method=method, url=url, elapsed_ms=(time.perf_counter() - hop_start) * 1000)


def describe_transport_error(exc: BaseException, url: str) -> tuple[str, str]:
    """Name a transport failure precisely: DNS, refused, TLS, reset."""
    host = urlsplit(url).hostname or url
    port = urlsplit(url).port or (443 if url.startswith("https") else 80)
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    text = " ".join(str(e) for e in chain)
    for e in chain:
        if isinstance(e, socket.gaierror) or "Name or service not known" in text or "nodename nor servname" in text or "Temporary failure in name resolution" in text:
            return "dns", f"DNS lookup for {host} failed (is the host name right?)"
        if isinstance(e, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in text:
            return "tls", f"TLS certificate of {host} could not be verified: {_last_line(text)}"
        if isinstance(e, ssl.SSLError) or "SSL" in type(e).__name__:
            return "tls", f"TLS handshake with {host}:{port} failed: {_last_line(text)}"
        if isinstance(e, ConnectionRefusedError) or getattr(e, "errno", None) == errno.ECONNREFUSED or "Connection refused" in text:
            return "refused", f"connection to {host}:{port} refused (is the server running on that port?)"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "protocol", f"{host} broke the HTTP protocol or closed the connection: {_last_line(text)}"
    if isinstance(exc, httpx.ConnectError):
        return "connect", f"could not connect to {host}:{port}: {_last_line(text) or type(exc).__name__}"
    return "connect", f"request to {host} failed: {type(exc).__name__}: {_last_line(text)}"


def _last_line(text: str) -> str:
    return text.strip().splitlines()[-1][:200] if text.strip() else ""
