"""The client's documented limits on one protocol step (README security table), against raw loopback
servers: at most 5 redirects (a chain of exactly 5 is followed, 6 is refused), and the 1 MiB body cap
applied to decoded bytes while streaming (a body that never ends and a gzip stream that inflates
forever are both cut at the cap; reading either whole would never finish, so a code path that buffers
first ends at the step's timeout instead, and fails here)."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Awaitable, Callable

from authkit_mcp_cli.http import Exchange, HttpPolicy, exchange, make_client

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
CAP = 1024 * 1024  # the README's promise, spelled out: the code's constant moving must fail here
STEP_TIMEOUT = 10.0  # far beyond what the capped paths need (milliseconds); a buffering path ends here


async def serve_and_get(handler: Handler, path: str) -> Exchange:
    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        async with make_client() as client:
            return await exchange(client, "GET", f"http://127.0.0.1:{port}{path}", policy=HttpPolicy(timeout=STEP_TIMEOUT))
    finally:
        server.close()


async def redirect_chain(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """/hop/N answers 302 to /hop/N-1; /hop/0 answers 200."""
    head = await reader.readuntil(b"\r\n\r\n")
    left = int(head.split(b" ", 2)[1].rsplit(b"/", 1)[1])
    if left:
        writer.write(f"HTTP/1.1 302 Found\r\nLocation: /hop/{left - 1}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
    else:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\ndone")
    await writer.drain()


def test_a_chain_of_exactly_five_redirects_is_followed():
    ex = asyncio.run(serve_and_get(redirect_chain, "/hop/5"))
    assert ex.ok and ex.status == 200 and ex.body == b"done", ex.summary()
    assert len(ex.redirects) == 5 and ex.final_url is not None and ex.final_url.endswith("/hop/0")


def test_a_sixth_redirect_is_refused():
    ex = asyncio.run(serve_and_get(redirect_chain, "/hop/6"))
    assert ex.error_kind == "redirect" and ex.error == "more than 5 redirects", ex.summary()
    assert ex.final_url is not None and not ex.final_url.endswith("/hop/0")  # the last hop was never asked for


async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes, chunks: Callable[[], bytes]) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(head)
    while True:  # never ends: only the client hanging up (or the test's end) stops it
        writer.write(chunks())
        await writer.drain()
        await asyncio.sleep(0.005)  # bounded rate: a client that buffers everything fills memory slowly


def test_a_body_that_never_ends_is_cut_at_the_cap():
    async def handler(reader, writer):
        await endless(reader, writer, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n", lambda: b"[" * 65536)

    ex = asyncio.run(serve_and_get(handler, "/flood"))
    assert ex.error_kind == "too_large", ex.summary()  # a buffering client would end in "timeout"
    assert len(ex.body) <= CAP and len(ex.body) > CAP - 65536


def test_a_gzip_stream_that_inflates_forever_is_cut_at_the_cap_after_decompression():
    deflater = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # gzip framing
    zeros = bytes(65536)
    compressed_sent = [0]

    def next_chunk() -> bytes:
        chunk = deflater.compress(zeros) + deflater.flush(zlib.Z_SYNC_FLUSH)  # ~100 bytes on the wire for 64 KiB inflated
        compressed_sent[0] += len(chunk)
        return chunk

    async def handler(reader, writer):
        await endless(reader, writer, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nConnection: close\r\n\r\n", next_chunk)

    ex = asyncio.run(serve_and_get(handler, "/bomb"))
    assert ex.error_kind == "too_large", ex.summary()  # counting the wire bytes instead would end in "timeout"
    assert len(ex.body) <= CAP and set(ex.body) == {0}  # what was kept is the decoded body
    assert compressed_sent[0] < CAP // 100  # the cap was reached on decoded bytes, far below a MiB on the wire


def test_a_gzip_body_of_exactly_the_cap_is_read():
    body = gzip_of(bytes(CAP))

    async def handler(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(f"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
        await writer.drain()

    ex = asyncio.run(serve_and_get(handler, "/just-fits"))
    assert ex.ok and len(ex.body) == CAP, ex.summary()


def gzip_of(data: bytes) -> bytes:
    deflater = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return deflater.compress(data) + deflater.flush()
