"""serve's limits after the request head (issue 20 §2), from raw sockets on
loopback, with a real token so the MCP endpoint reads the body: in the
``--stateless`` fast path and the SDK's own path. Chunked trailer fields count
against the head's 32 KiB (just under is answered, just over gets 431, a
128 MiB flood is cut with the server's memory flat, in every worker); a body
or a trailer that drips is closed at the body deadline (408); slow but legal
bodies, kept-alive connections and an SSE stream that outlives the deadline
are unaffected. The deadline is small here through the same ServeConfig
field serve runs with (``body_timeout``), so the tests are fast."""

from __future__ import annotations

import json
import re
import select
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from authkit_mcp_cli.server.config import ServeConfig
from authkit_mcp_cli.server.runner import serve_in_thread
from peers.asgi import serve_asgi
from peers.key_as import KeyAS
from peers.serve_process import flood, serve_cli

pytestmark = pytest.mark.integration

BODY_TIMEOUT = 1.0
LIMIT = 32 * 1024
MODES = {"stateless": True, "sdk": False}  # the fast path, and the SDK's transport (stateful, SSE)
INITIALIZE = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}).encode()


@dataclass
class Target:
    host: str
    port: int
    path: str
    token: str

    def head(self, *, length: int | None = None, extra: str = "") -> bytes:
        framing = f"Content-Length: {length}\r\n" if length is not None else "Transfer-Encoding: chunked\r\n"
        return (f"POST {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAuthorization: Bearer {self.token}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n{framing}{extra}\r\n").encode()


@pytest.fixture(scope="module")
def key_as() -> Iterator[KeyAS]:
    authority = KeyAS()
    authority.add_key("k1")
    with serve_asgi(authority.app):
        yield authority


@contextmanager
def running(key_as: KeyAS, stateless: bool) -> Iterator[Target]:
    cfg = ServeConfig(port=0, authkit_domain=key_as.issuer, required_scopes=("mcp:tools",), stateless=stateless, body_timeout=BODY_TIMEOUT)
    with serve_in_thread(cfg) as info:
        yield target_of(info.mcp_url, key_as)


def target_of(mcp_url: str, key_as: KeyAS) -> Target:
    parts = urlsplit(mcp_url)
    assert parts.hostname and parts.port
    return Target(parts.hostname, parts.port, parts.path, key_as.token(key_as.claims(mcp_url)))


def trailer_lines(total: int) -> bytes:
    """Trailer fields of exactly ``total`` bytes (lines of about 1 KiB)."""
    lines = []
    left = total
    n = 0
    while left > 0:
        size = min(1024, left) if left - 1024 >= 16 or left <= 1024 else left - 16  # never a line under 16 bytes
        name = f"X-T{n}: ".encode()
        lines.append(name + b"a" * (size - len(name) - 2) + b"\r\n")
        left -= size
        n += 1
    out = b"".join(lines)
    assert len(out) == total
    return out


def response(sock: socket.socket, timeout: float = 10) -> bytes:
    """Read one whole response (Content-Length or chunked, as an SSE answer to a POST is), or
    whatever came before the server closed."""
    sock.settimeout(timeout)
    data = b""
    while True:
        head_end = data.find(b"\r\n\r\n")
        if head_end >= 0:
            head, body = data[:head_end], data[head_end + 4 :]
            length = re.search(rb"content-length: (\d+)", head, re.I)
            if (length and len(body) >= int(length.group(1))) or (b"transfer-encoding: chunked" in head.lower() and body.endswith(b"0\r\n\r\n")):
                return data
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def closed(sock: socket.socket, timeout: float) -> bool:
    """True when the server closed the connection (EOF or reset) within ``timeout``."""
    sock.settimeout(timeout)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True


def drip(sock: socket.socket, every: float = 0.2, limit: float = 10) -> tuple[bytes, float]:
    """Send a byte every ``every`` seconds until the server answers or closes; return (what it said, when)."""
    started = time.monotonic()
    answer = b""
    while time.monotonic() - started < limit:
        try:
            sock.sendall(b"a")
        except (BrokenPipeError, ConnectionResetError):
            break
        readable, _, _ = select.select([sock], [], [], every)
        if readable:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            answer += chunk
    return answer, time.monotonic() - started


def chunked_with_trailers(target: Target, sock: socket.socket, trailers: bytes) -> None:
    """A JSON-RPC initialize in two chunks, then (in a later read) the last chunk and ``trailers``."""
    sock.sendall(target.head() + b"%x\r\n%s\r\n" % (len(INITIALIZE) // 2, INITIALIZE[: len(INITIALIZE) // 2]) + b"%x\r\n%s\r\n" % (len(INITIALIZE) - len(INITIALIZE) // 2, INITIALIZE[len(INITIALIZE) // 2 :]))
    time.sleep(0.2)  # the data and the trailer section arrive in separate reads, as over a real network
    sock.sendall(b"0\r\n" + trailers + b"\r\n")


def head_and_fields(target: Target) -> int:
    """The bytes the limit counts before the trailers: the request line and the header lines."""
    return len(target.head())


@pytest.mark.parametrize("mode", MODES)
def test_trailers_just_under_the_limit_are_answered(key_as, mode):
    with running(key_as, MODES[mode]) as target, socket.create_connection((target.host, target.port), timeout=10) as sock:
        chunked_with_trailers(target, sock, trailer_lines(LIMIT - head_and_fields(target) - 1024))
        answer = response(sock)
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:300]
    assert b'"serverInfo"' in answer


@pytest.mark.parametrize("mode", MODES)
def test_trailers_just_over_the_limit_get_431(key_as, mode):
    with running(key_as, MODES[mode]) as target, socket.create_connection((target.host, target.port), timeout=10) as sock:
        chunked_with_trailers(target, sock, trailer_lines(LIMIT - head_and_fields(target) + 1024))
        answer = response(sock)
        assert closed(sock, 5)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:300]


@pytest.mark.parametrize("mode", MODES)
def test_trailer_fields_never_reach_the_app_as_headers(key_as, mode):
    """RFC 9110 §6.5.1: a trailer must not be merged into the header section. uvicorn appended
    trailers to the request's headers, where the SDK, reading them after the body, took a trailing
    ``Mcp-Protocol-Version`` for the request's own and answered 400 for another wire."""
    with running(key_as, MODES[mode]) as target, socket.create_connection((target.host, target.port), timeout=10) as sock:
        chunked_with_trailers(target, sock, b"Content-Type: text/plain\r\nMcp-Protocol-Version: 1999-01-01\r\n")
        answer = response(sock)
    assert answer.startswith(b"HTTP/1.1 200 ") and b'"serverInfo"' in answer, answer[:300]


@pytest.mark.parametrize("mode", MODES)
def test_a_dripping_body_is_closed_at_the_body_deadline(key_as, mode):
    with running(key_as, MODES[mode]) as target, socket.create_connection((target.host, target.port), timeout=10) as sock:
        sock.sendall(target.head(length=len(INITIALIZE)))
        answer, seconds = drip(sock)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:300]
    assert BODY_TIMEOUT - 0.1 < seconds < 3 * BODY_TIMEOUT, seconds


@pytest.mark.parametrize("mode", MODES)
def test_a_dripping_trailer_is_closed_at_the_body_deadline(key_as, mode):
    with running(key_as, MODES[mode]) as target, socket.create_connection((target.host, target.port), timeout=10) as sock:
        sock.sendall(target.head() + b"%x\r\n%s\r\n0\r\nX-Drip: " % (len(INITIALIZE), INITIALIZE))
        answer, seconds = drip(sock)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:300]
    assert BODY_TIMEOUT - 0.1 < seconds < 3 * BODY_TIMEOUT, seconds


@pytest.mark.parametrize("mode", MODES)
def test_a_slow_but_legal_body_and_a_kept_alive_connection_are_answered(key_as, mode):
    with running(key_as, MODES[mode]) as target, socket.create_connection((target.host, target.port), timeout=10) as sock:
        for _ in range(2):
            sock.sendall(target.head(length=len(INITIALIZE)))
            for piece in range(0, len(INITIALIZE), len(INITIALIZE) // 5 + 1):  # over about half the deadline
                time.sleep(BODY_TIMEOUT / 10)
                sock.sendall(INITIALIZE[piece : piece + len(INITIALIZE) // 5 + 1])
            answer = response(sock)
            assert answer.startswith(b"HTTP/1.1 200 ") and b'"serverInfo"' in answer, answer[:300]
            time.sleep(BODY_TIMEOUT * 1.5)  # idle between requests: uvicorn's keep-alive (5 s), not the body deadline


def test_an_sse_stream_outlives_the_body_deadline(key_as):
    """Server-to-client streaming (the SDK's GET stream) is the response, not the request: never cut."""
    with running(key_as, False) as target, socket.create_connection((target.host, target.port), timeout=10) as sock:
        sock.sendall(target.head(length=len(INITIALIZE)) + INITIALIZE)
        answer = response(sock)
        session = re.search(rb"mcp-session-id: (\S+)", answer, re.I)
        assert answer.startswith(b"HTTP/1.1 200 ") and session, answer[:300]
        initialized = json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}).encode()
        extra = f"Mcp-Session-Id: {session.group(1).decode()}\r\nMcp-Protocol-Version: 2025-11-25\r\n"
        sock.sendall(target.head(length=len(initialized), extra=extra) + initialized)
        assert response(sock).startswith(b"HTTP/1.1 202 ")
        sock.sendall(f"GET {target.path} HTTP/1.1\r\nHost: {target.host}:{target.port}\r\nAuthorization: Bearer {target.token}\r\nAccept: text/event-stream\r\n{extra}\r\n".encode())
        sock.settimeout(5)
        head = sock.recv(65536)
        assert head.startswith(b"HTTP/1.1 200 ") and b"text/event-stream" in head, head[:300]
        assert not closed(sock, 3 * BODY_TIMEOUT), "the SSE stream was cut"


def flood_trailers(target: Target, total: int, results: list[tuple[int, bytes, float]]) -> None:
    """Send a chunked body, then up to ``total`` bytes of trailer fields; record (sent, answer, seconds)."""
    started = time.monotonic()
    with socket.create_connection((target.host, target.port), timeout=10) as sock:
        sock.sendall(target.head() + b"%x\r\n%s\r\n" % (len(INITIALIZE), INITIALIZE))
        time.sleep(0.2)
        sock.sendall(b"0\r\n")
        sent, answer = flood(sock, trailer_lines(64 * 1024), total, seconds=60)
    results.append((sent, answer, time.monotonic() - started))


@pytest.mark.parametrize("args", [["--stateless"], [], ["--workers", "2"]], ids=["cli-stateless", "cli-sdk", "cli-workers"])
def test_a_128_mib_trailer_flood_is_cut_with_flat_memory(tmp_path, key_as, args):
    """Two connections of 128 MiB of trailers each took serve from 84 to 388 MiB before."""
    with serve_cli(tmp_path, "--authkit-domain", key_as.issuer, "--required-scopes", "mcp:tools", *args) as serve:
        target = target_of(serve.mcp_url, key_as)
        before = serve.rss_mb()
        results: list[tuple[int, bytes, float]] = []
        floods = [threading.Thread(target=flood_trailers, args=(target, 128 * 1024 * 1024, results)) for _ in range(2)]
        for flood in floods:
            flood.start()
        for flood in floods:
            flood.join(timeout=120)
        after = serve.rss_mb()
    assert len(results) == 2
    for sent, answer, _ in results:
        assert sent < 16 * 1024 * 1024 and (answer == b"" or answer.startswith(b"HTTP/1.1 431 ")), (sent, answer[:100])
    assert after - before < 20, f"RSS grew {after - before:.0f} MiB"
    assert "Traceback" not in serve.stderr.finish()
