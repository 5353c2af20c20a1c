"""Request limits for serve's HTTP/1.1 connections (issue 14 item 3, issue 20 §2).

uvicorn's httptools protocol accepts a request head of any size and waits
for its end forever; its h11 protocol caps the head (answering 400, not 431)
but also waits forever for a client that sends part of a request and idles.
Neither bounds what comes after the head: chunked trailer fields are buffered
without limit (and merged into the request's headers), and a body may drip a
byte at a time for ever. serve keeps httptools (the C parser; about twice
h11's throughput, see BENCHMARKS.md) and runs it through
:class:`GuardedHttpToolsProtocol`, which adds these limits whatever uvicorn
would pick:

- the request line and headers together may take ``max_header_bytes``; more
  is answered ``431 Request Header Fields Too Large`` (RFC 6585 §5) and the
  connection is closed. The check runs after each read, so a head in flight
  holds at most the limit plus one read (uvicorn reads 256 KiB at a time);
- the trailer section of a chunked body (RFC 9112 §7.1.2) counts against the
  same limit, as more header lines would: head and trailer fields together
  over ``max_header_bytes`` are answered 431 and the connection closed.
  Each complete trailer field is counted as the parser hands it over; a field
  still in flight (httptools buffers it whole) is bounded by counting every
  read that carries no body data since the last data, so one read of slack
  applies here too. Trailer fields are then discarded, never merged into the
  headers the app sees (RFC 9110 §6.5.1);
- from the connection (and from the first byte of each later request on a
  kept-alive connection) the head must be complete within
  ``header_timeout`` seconds, or the answer is ``408 Request Timeout``
  (RFC 9110 §15.5.9) and the connection is closed;
- from the end of the head, the rest of the request (body and trailers) must
  arrive within ``body_timeout`` seconds, or the connection is closed, with
  408 if nothing was answered yet. The clock stops counting against the
  client while serve itself is not reading (the app has not taken what came,
  a pipelined request waits its turn, or the client waits for our
  ``100 Continue``). Once the request is complete the deadline is gone: a
  response (an SSE stream) may last as long as the app likes, and the idle
  time between kept-alive requests is uvicorn's keep-alive timeout.

Why 30 s for the body: the largest body serve takes is the MCP SDK's 4 MiB
(``max_request_body_size``; the development AS's forms are 64 KiB), which 30 s
admits at about 140 KB/s, a slow mobile link; a JSON-RPC request of a few KB
passes at well under 1 KB/s. A client dripping a byte every few seconds holds
a connection and a task for 10 + 30 s at most, as Apache's mod_reqtimeout
(header 20-40 s, body 20 s) bounds it.

The limits travel on the uvicorn ``Config`` (see :func:`apply_limits`), so
worker processes started by uvicorn's supervisor get them too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from authkit_mcp_cli.seams.uvicorn_private import HttpToolsProtocol, should_upgrade, unset_keepalive

PROTOCOL = "authkit_mcp_cli.server.limits:GuardedHttpToolsProtocol"
DEFAULT_MAX_HEADER_BYTES = 32 * 1024
DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_BODY_TIMEOUT = 30.0
_REQUEST_LINE_OVERHEAD = len("POST  HTTP/1.1\r\n\r\n")  # around the target; a field adds ": " and CRLF
_FIELD_OVERHEAD = 4


def apply_limits(config: Any, *, max_header_bytes: int, header_timeout: float, body_timeout: float = DEFAULT_BODY_TIMEOUT) -> Any:
    """Make a ``uvicorn.Config`` serve through the guarded protocol with these limits."""
    config.http = PROTOCOL
    config.atoms_max_header_bytes = max_header_bytes
    config.atoms_header_timeout = header_timeout
    config.atoms_body_timeout = body_timeout
    return config


def _plain_response(status: int, reason: str, message: str) -> bytes:
    body = message.encode("ascii")
    head = f"HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {len(body)}\r\nconnection: close\r\n\r\n"
    return head.encode("ascii") + body


TOO_LARGE = _plain_response(431, "Request Header Fields Too Large", "Request header fields too large.")
TRAILERS_TOO_LARGE = _plain_response(431, "Request Header Fields Too Large", "Request header and trailer fields too large.")
TIMED_OUT = _plain_response(408, "Request Timeout", "The request head did not arrive in time.")
BODY_TIMED_OUT = _plain_response(408, "Request Timeout", "The request body did not arrive in time.")


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, config: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self._max_head = int(getattr(config, "atoms_max_header_bytes", DEFAULT_MAX_HEADER_BYTES))
        self._head_timeout = float(getattr(config, "atoms_header_timeout", DEFAULT_HEADER_TIMEOUT))
        self._body_timeout = float(getattr(config, "atoms_body_timeout", DEFAULT_BODY_TIMEOUT))
        self._in_head = True  # waiting for (the rest of) a request head
        self._in_body = False  # head done, waiting for the rest of the message (body, trailers)
        self._head_bytes = 0
        self._fields_left = self._max_head  # what the trailer section may take
        self._trailer_bytes = 0  # complete trailer fields so far
        self._since_data = 0  # bytes of whole reads since the last body data: framing, extensions, trailers
        self._refused = False  # answered and closing: the rest of the current read is ignored
        # what happened during the current read
        self._read_had_data = self._read_ended_message = self._read_ended_head = False
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self._head_timeout, self._head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._read_had_data = self._read_ended_message = self._read_ended_head = False
        super().data_received(data)
        if self.transport.is_closing():
            return
        if self._in_head:
            if not self._read_ended_message:  # the whole read is this head's (else one read of slack)
                self._head_bytes += len(data)
                if self._head_bytes > self._max_head:
                    self._refuse(TOO_LARGE, "Request head over %d bytes: answered 431.", self._max_head)
        elif self._in_body and not (self._read_had_data or self._read_ended_head):
            # the whole read was chunk framing, extensions or trailer fields: no data at all
            self._since_data += len(data)
            if self._since_data > self._fields_left:
                self._refuse(TRAILERS_TOO_LARGE, "Request head and trailer fields over %d bytes: answered 431.", self._max_head)

    # httptools callbacks: a head starts at a message's first byte and ends with its headers;
    # the rest (body data, chunk framing, trailer fields) ends with the message
    def on_message_begin(self) -> None:
        if self._refused:
            return
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = 0
        if self._deadline is None:
            self._arm(self._head_timeout, self._head_timed_out)

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._in_body:
            if not self._refused:
                super().on_header(name, value)
            return
        # a trailer field: counted, never merged into the headers (RFC 9110 §6.5.1)
        self._trailer_bytes += len(name) + len(value) + _FIELD_OVERHEAD
        if self._trailer_bytes > self._fields_left:
            self._refuse(TRAILERS_TOO_LARGE, "Request head and trailer fields over %d bytes: answered 431.", self._max_head)

    def on_headers_complete(self) -> None:
        if self._refused:
            return
        self._in_head = False
        self._read_ended_head = True
        self._cancel_deadline()
        fields = _REQUEST_LINE_OVERHEAD + len(self.url) + sum(len(name) + len(value) + _FIELD_OVERHEAD for name, value in self.headers)
        self._fields_left = self._max_head - fields
        self._trailer_bytes = self._since_data = 0
        super().on_headers_complete()
        if not (self.parser.should_upgrade() and should_upgrade(self)):  # an upgrade is another protocol's business
            self._in_body = True
            self._arm(self._body_timeout, self._body_timed_out)

    def on_body(self, body: bytes) -> None:
        if self._refused:
            return
        self._read_had_data = True
        self._since_data = 0
        super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        self._in_body = False
        self._read_ended_message = True
        self._cancel_deadline()
        super().on_message_complete()

    def _arm(self, seconds: float, callback: Callable[[], None]) -> None:
        self._cancel_deadline()
        self._deadline = self.loop.call_later(seconds, callback)

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _head_timed_out(self) -> None:
        self._deadline = None
        if self._in_head and not self.transport.is_closing():
            self._refuse(TIMED_OUT, "No complete request head within %g s: answered 408.", self._head_timeout)

    def _body_timed_out(self) -> None:
        self._deadline = None
        if not self._in_body or self.transport.is_closing():
            return
        if self.flow.read_paused or (self.cycle is not None and self.cycle.waiting_for_100_continue):
            # serve is the one not reading (or the client waits for our 100 Continue): not the client's time
            self._arm(self._body_timeout, self._body_timed_out)
            return
        self._refuse(BODY_TIMED_OUT, "No complete request body within %g s: closed.", self._body_timeout)

    def _refuse(self, response: bytes, message: str, limit: float) -> None:
        """Close the connection, answering ``response`` if nothing else is on the wire."""
        cycle = self.cycle
        if self._in_body:
            quiet = not cycle.response_started  # this request's own answer has not begun
            cycle.disconnected = True  # the app's receive() says so; its send() writes nothing more
            cycle.message_event.set()
        else:
            quiet = cycle is None or cycle.response_complete  # no earlier answer still being written
        self._in_head = self._in_body = False
        self._refused = True
        self._cancel_deadline()
        unset_keepalive(self)
        self.logger.warning(message, limit)
        if quiet:
            self.transport.write(response)
        self.transport.close()
