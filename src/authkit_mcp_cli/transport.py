"""The transport under every outbound client: policy and trace in one place.

``http.make_client`` (httpx, for discovery, OAuth, serve's fetches) and
``http.make_sdk_client`` (httpx2, for the MCP SDK's client) both wrap their
network transport in :func:`policy_transport`. It refuses plain http to
non-loopback hosts unless allowed, cuts response bodies at a size cap, and
hands each finished exchange (request, status, headers, body or the error) to
the trace. Because the trace sits here, a request cannot bypass it: the MCP
SDK's requests are recorded exactly like ours.

Written once for both libraries: httpx2 is a fork with the same transport API,
so the classes are built per library module.
"""

from __future__ import annotations

import errno
import functools
import time
import zlib
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from authkit_mcp_cli.capped import kib
from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import NetworkError
from authkit_mcp_cli.trace import MAX_TRACED_BODY, TracedExchange, TraceWriter
from authkit_mcp_cli.urls import is_secure_url


def policy_transport(lib: ModuleType, inner: Any, *, trace: TraceWriter | None, allow_insecure: bool, max_body: int | None) -> Any:
    """``inner`` (a ``lib.AsyncBaseTransport``) behind the https policy, the size cap and the trace."""
    return _classes(lib)[0](inner, trace=trace, allow_insecure=allow_insecure, max_body=max_body)


@functools.cache
def _classes(lib: ModuleType) -> tuple[type, type]:
    class RecordingStream(lib.AsyncByteStream):  # type: ignore[name-defined]
        """Passes the body through, keeps its start for the trace, enforces the cap."""

        def __init__(self, inner: Any, record: TracedExchange, trace: TraceWriter | None, max_body: int | None, started: float, encoding: str | None) -> None:
            self._inner, self._record, self._trace = inner, record, trace
            self._max, self._started, self._encoding = max_body, started, encoding
            self._kept = bytearray()
            self._size = 0
            self._complete = False
            self._done = False

        async def __aiter__(self) -> AsyncIterator[bytes]:
            async for chunk in self._inner:
                self._size += len(chunk)
                if self._max is not None and self._size > self._max:
                    self._record.error = f"response body larger than {kib(self._max)} (stopped reading)"
                    raise NetworkError(
                        f"{self._record.method} {self._record.url}: the response body is larger than {kib(self._max)}; atoms-auth stopped reading.",
                        code=ErrorCode.NETWORK_TOO_LARGE,
                        url=self._record.url,
                        hint="The remote sent far more than an MCP or OAuth message needs; check the URL.",
                    )
                if len(self._kept) < MAX_TRACED_BODY:
                    self._kept.extend(chunk[: MAX_TRACED_BODY - len(self._kept)])
                yield chunk
            self._complete = True

        async def aclose(self) -> None:
            try:
                await self._inner.aclose()
            finally:
                self._finish()

        def _finish(self) -> None:
            if self._done or self._trace is None:
                return
            self._done = True
            rec = self._record
            rec.response_body = _decoded(bytes(self._kept), self._encoding)
            if not self._complete and rec.error is None:
                rec.error = f"the body was not read to its end ({self._size} bytes read)"
            rec.elapsed_ms = (time.perf_counter() - self._started) * 1000
            self._trace.record(rec)

    class PolicyTransport(lib.AsyncBaseTransport):  # type: ignore[name-defined]
        def __init__(self, inner: Any, *, trace: TraceWriter | None, allow_insecure: bool, max_body: int | None) -> None:
            self._inner, self._trace, self._allow_insecure, self._max = inner, trace, allow_insecure, max_body

        async def handle_async_request(self, request: Any) -> Any:
            url = str(request.url)
            if not self._allow_insecure and not is_secure_url(url):
                raise NetworkError(
                    f"Refused to send a request over plain http to a non-loopback host ({url}).",
                    code=ErrorCode.NETWORK_INSECURE,
                    url=url,
                    hint="Use https, or --allow-http for a trusted test setup.",
                    spec="OAuth 2.1 §1.5; MCP 2026-07-28 Security Considerations",
                )
            started = time.perf_counter()
            record = TracedExchange(request.method, url, list(request.headers.multi_items()), _request_body(request))
            try:
                response = await self._inner.handle_async_request(request)
            except BaseException as exc:
                if self._trace is not None:
                    record.error = describe_transport_error(exc, url, lib)[1]
                    record.elapsed_ms = (time.perf_counter() - started) * 1000
                    self._trace.record(record)
                raise
            if self._trace is None and self._max is None:
                return response
            record.status, record.response_headers = response.status_code, list(response.headers.multi_items())
            stream = RecordingStream(response.stream, record, self._trace, self._max, started, response.headers.get("content-encoding"))
            return lib.Response(status_code=response.status_code, headers=response.headers, stream=stream, extensions=response.extensions)

        async def aclose(self) -> None:
            await self._inner.aclose()

    return PolicyTransport, RecordingStream


def _request_body(request: Any) -> bytes | None:
    try:
        return bytes(request.content) or None
    except Exception:  # a streaming request body that was not read: nothing to show
        return None


def _decoded(raw: bytes, encoding: str | None) -> bytes:
    """The trace shows text: undo gzip/deflate on the kept prefix (other encodings are named)."""
    if not raw or not encoding or encoding.strip().lower() == "identity":
        return raw
    name = encoding.strip().lower()
    if name in ("gzip", "deflate", "x-gzip"):
        try:
            return zlib.decompressobj(wbits=47 if name != "deflate" else 15).decompress(raw, MAX_TRACED_BODY)
        except zlib.error:
            pass
    return f"<{len(raw)} bytes, content-encoding {name}>".encode()


def describe_transport_error(exc: BaseException, url: str, lib: ModuleType | None = None) -> tuple[str, str]:
    """Name a transport failure precisely: DNS, refused, TLS, reset (as ``(kind, text)``)."""
    if lib is None:
        import httpx

        lib = httpx
    parts = urlsplit(url)
    host = parts.hostname or url
    port = parts.port or (443 if url.startswith("https") else 80)
    if isinstance(exc, NetworkError):
        return exc.code.removeprefix("network."), exc.message
    import socket  # here, not at import: doctor --list-checks loads the catalogue without ssl
    import ssl

    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    text = " ".join(dict.fromkeys(str(e) for e in chain))  # a chain often repeats one message: said once
    for e in chain:
        if isinstance(e, socket.gaierror) or "Name or service not known" in text or "nodename nor servname" in text or "Temporary failure in name resolution" in text:
            return "dns", f"DNS lookup for {host} failed (is the host name right?)"
        if "WRONG_VERSION_NUMBER" in text or "record layer failure" in text:
            # the first bytes back were not a TLS record: an https:// URL at a port that speaks plain HTTP
            return "plain_http", f"{host}:{port} answered the TLS handshake in plain HTTP: this port speaks http, not https"
        if isinstance(e, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in text:
            return "tls", f"TLS certificate of {host} could not be verified: {_last_line(text)}"
        if isinstance(e, ssl.SSLError) or "SSL" in type(e).__name__:
            return "tls", f"TLS handshake with {host}:{port} failed: {_last_line(text)}"
        if isinstance(e, ConnectionRefusedError) or getattr(e, "errno", None) == errno.ECONNREFUSED or "Connection refused" in text:
            return "refused", f"connection to {host}:{port} refused (is the server running on that port?)"
    if isinstance(exc, lib.TimeoutException):
        return "timeout", f"timed out talking to {host}:{port}"
    if isinstance(exc, lib.RemoteProtocolError):
        return "protocol", f"{host} broke the HTTP protocol or closed the connection: {_last_line(text)}"
    if isinstance(exc, lib.ConnectError):
        return "connect", f"could not connect to {host}:{port}: {_last_line(text) or type(exc).__name__}"
    if not isinstance(exc, Exception):  # cancelled (a deadline) or interrupted
        return "cancelled", "the request was cancelled (deadline or interrupt)"
    return "connect", f"request to {host} failed: {type(exc).__name__}: {_last_line(text)}"


def _last_line(text: str) -> str:
    return text.strip().splitlines()[-1][:200] if text.strip() else ""
