"""``--trace FILE``: every HTTP exchange as one JSON line, secrets redacted.

Each line has method, URL, request and response headers and bodies, status,
timing, error, and the decoded header and claims of any JWT seen in an
Authorization header or a token field. Redaction happens here, before
anything reaches the file, unless the user passed ``--reveal``. The file is
opened by ``private_file.open_private``: a symlink is refused, the mode is
0600 even when the file existed.

The trace knows nothing of HTTP clients: ``http.make_client`` installs a
transport that hands each finished exchange to :meth:`TraceWriter.record`,
so every request any client makes (discovery, OAuth, the MCP SDK's) is
recorded without the caller's help.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from authkit_mcp_cli.private_file import open_private
from authkit_mcp_cli.redact import SECRET_FIELDS, decode_jwt_unverified, redact_body, redact_headers, redact_url
from authkit_mcp_cli.safe_text import json_text

# A trace shows what was said, not bulk data: bodies are kept up to this size.
MAX_TRACED_BODY = 256 * 1024


@dataclass
class TracedExchange:
    """One HTTP request as sent and what came back, as the transport saw it."""

    method: str
    url: str
    request_headers: list[tuple[str, str]]
    request_body: bytes | None
    status: int | None = None
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: bytes | None = None
    error: str | None = None
    elapsed_ms: float = 0.0


# ``--trace -`` (or /dev/stderr, a symlink open_private would refuse): each exchange on stderr as it ends, like curl -v
TO_STDERR = ("-", "/dev/stderr")


@dataclass(frozen=True)
class FetchedDocument:
    """A metadata document exactly as the server sent it (doctor --bundle): a GET of a /.well-known/ URL that answered 200."""

    url: str
    content_type: str | None
    body: bytes


class TraceWriter:
    def __init__(self, path: str, *, reveal: bool = False, documents: list[FetchedDocument] | None = None) -> None:
        self.path = path
        self.reveal = reveal
        self.documents = documents  # when a list, each metadata document fetched is added to it, as fetched
        self._lock = threading.Lock()
        if path in TO_STDERR:
            fd = os.dup(2)  # its own descriptor: closing the trace leaves stderr open
        else:
            # never through a symlink, never left readable by others: a trace may hold tokens (--reveal)
            fd = open_private(path, what="the trace")
        self._file: IO[str] = os.fdopen(fd, "w", encoding="utf-8")

    def close(self) -> None:
        with self._lock:
            self._file.close()

    def __enter__(self) -> TraceWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def record(self, ex: TracedExchange) -> None:
        entry = self.entry(ex)
        if self.documents is not None and ex.method == "GET" and ex.status == 200 and ex.response_body and "/.well-known/" in ex.url.split("?", 1)[0]:
            self.documents.append(FetchedDocument(redact_url(ex.url), _header(ex.response_headers, "content-type"), ex.response_body))
        with self._lock:
            if self._file.closed:  # a stream closed after the command ended: nothing to add
                return
            # C0 is escaped by the encoder, C1 (CSI U+009B) by json_text: `cat trace.jsonl` cannot drive a terminal
            self._file.write(json_text(json.dumps(entry, ensure_ascii=False)) + "\n")
            self._file.flush()

    def entry(self, ex: TracedExchange) -> dict[str, Any]:
        req_headers, resp_headers, url = ex.request_headers, ex.response_headers, ex.url
        jwts = _jwts_in(req_headers, ex.request_body, ex.response_body)
        if not self.reveal:
            url = redact_url(url)
            req_headers = redact_headers(req_headers)
            resp_headers = redact_headers(resp_headers)
        req_body = _body(ex.request_body, _header(ex.request_headers, "content-type"), self.reveal)
        resp_body = _body(ex.response_body, _header(ex.response_headers, "content-type"), self.reveal)
        ended = time.time()  # recorded when the exchange ends (its body read, or its error)
        return {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ended)),
            # when the request left and its answer ended, to the millisecond: which exchanges overlapped
            "started": _iso_ms(ended - ex.elapsed_ms / 1000),
            "ended": _iso_ms(ended),
            "method": ex.method,
            "url": url,
            "request": {"headers": req_headers, "body": req_body},
            "response": None if ex.status is None else {"status": ex.status, "headers": resp_headers, "body": resp_body},
            "error": ex.error,
            "elapsed_ms": round(ex.elapsed_ms, 1),
            "jwts": jwts,
        }


class ExchangeLines(TraceWriter):
    """``-v``: each exchange as one line handed to ``say`` (method, redacted URL, status or error, time), and
    to ``also`` (a --trace file) in full; the command decides where the line goes."""

    def __init__(self, say: Callable[[str], None], *, also: TraceWriter | None = None) -> None:  # no file of its own
        self.path, self.reveal, self._lock = "", False, threading.Lock()
        self._say, self._also = say, also

    def close(self) -> None:
        if self._also is not None:
            self._also.close()

    def record(self, ex: TracedExchange) -> None:
        if self._also is not None:
            self._also.record(ex)
        outcome = str(ex.status) if ex.status is not None else f"failed: {ex.error}"
        self._say(f"{ex.method} {redact_url(ex.url)} -> {outcome} ({ex.elapsed_ms:.0f} ms)")


def _iso_ms(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((v for k, v in headers if k.lower() == name), None)


def _body(body: bytes | None, content_type: str | None, reveal: bool) -> str | None:
    if not body:
        return None
    if reveal:
        return body.decode("utf-8", "replace")
    return redact_body(body, content_type)


def _jwts_in(headers: list[tuple[str, str]], *bodies: bytes | None) -> list[dict[str, Any]]:
    """Decoded (never verified) JWTs, so a trace shows claims without the token."""
    found: list[dict[str, Any]] = []
    for name, value in headers:
        if name.lower() == "authorization" and " " in value:
            decoded = decode_jwt_unverified(value.split(" ", 1)[1].strip())
            if decoded:
                found.append({"where": "authorization header", **decoded})
    for body in bodies:
        if not body:
            continue
        try:
            data = json.loads(body)
        except ValueError:
            continue
        if isinstance(data, dict):
            for key in SECRET_FIELDS & data.keys():
                if isinstance(data[key], str):
                    decoded = decode_jwt_unverified(data[key])
                    if decoded:
                        found.append({"where": key, **decoded})
    return found
