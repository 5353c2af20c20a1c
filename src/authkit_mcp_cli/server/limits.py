"""Request-head limits for serve's HTTP/1.1 connections (issue 14 item 3).

uvicorn's httptools protocol accepts a request head of any size and waits
for its end forever; its h11 protocol caps the head (answering 400, not 431)
but also waits forever for a client that sends part of a request and idles.
serve keeps httptools (the C parser; about twice h11's throughput, see
BENCHMARKS.md) and runs it through :class:`GuardedHttpToolsProtocol`, which
adds both limits whatever uvicorn would pick:

- the request line and headers together may take ``max_header_bytes``; more
  is answered ``431 Request Header Fields Too Large`` (RFC 6585 §5) and the
  connection is closed. The check runs after each read, so a head in flight
  holds at most the limit plus one read (uvicorn reads 256 KiB at a time);
- from the connection (and from the first byte of each later request on a
  kept-alive connection) the head must be complete within
  ``header_timeout`` seconds, or the answer is ``408 Request Timeout``
  (RFC 9110 §15.5.9) and the connection is closed. Idle time between
  requests is uvicorn's keep-alive timeout; the body is the app's business.

The limits travel on the uvicorn ``Config`` (see :func:`apply_limits`), so
worker processes started by uvicorn's supervisor get them too.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

PROTOCOL = "authkit_mcp_cli.server.limits:GuardedHttpToolsProtocol"
DEFAULT_MAX_HEADER_BYTES = 32 * 1024
DEFAULT_HEADER_TIMEOUT = 10.0


def apply_limits(config: Any, *, max_header_bytes: int, header_timeout: float) -> Any:
    """Make a ``uvicorn.Config`` serve through the guarded protocol with these limits."""
    config.http = PROTOCOL
    config.atoms_max_header_bytes = max_header_bytes
    config.atoms_header_timeout = header_timeout
    return config


def _plain_response(status: int, reason: str, message: str) -> bytes:
    body = message.encode("ascii")
    head = f"HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {len(body)}\r\nconnection: close\r\n\r\n"
    return head.encode("ascii") + body


TOO_LARGE = _plain_response(431, "Request Header Fields Too Large", "Request header fields too large.")
TIMED_OUT = _plain_response(408, "Request Timeout", "The request head did not arrive in time.")


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, config: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self._max_head = int(getattr(config, "atoms_max_header_bytes", DEFAULT_MAX_HEADER_BYTES))
        self._head_timeout = float(getattr(config, "atoms_header_timeout", DEFAULT_HEADER_TIMEOUT))
        self._in_head = True  # waiting for (the rest of) a request head
        self._head_bytes = 0
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._in_head and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > self._max_head:
                self._refuse(TOO_LARGE, "Request head over %d bytes: answered 431.", self._max_head)

    # httptools callbacks: a head starts at a message's first byte and ends with its headers
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = 0
        if self._head_timer is None:
            self._arm_head_timer()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._cancel_head_timer()
        super().on_headers_complete()

    def _arm_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(self._head_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._in_head and not self.transport.is_closing():
            self._refuse(TIMED_OUT, "No complete request head within %.0f s: answered 408.", self._head_timeout)

    def _refuse(self, response: bytes, message: str, limit: float) -> None:
        self._in_head = False
        self._cancel_head_timer()
        self._unset_keepalive_if_required()
        self.logger.warning(message, limit)
        self.transport.write(response)
        self.transport.close()
