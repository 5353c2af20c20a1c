"""A minimal Redis/Valkey client for serve's shared DPoP store: the RESP2
protocol (https://redis.io/docs/latest/develop/reference/protocol-spec/) on
one pipelined connection per event loop.

Commands are written as they come and their replies, which the server sends
in order, resolve the oldest waiting command; so concurrent requests share
one connection without a pool or a lock. This costs about a fifth of the CPU
per command of redis-py's asyncio client (measured in benchmarks/dpop_store.py's
setting: 35-50 us against 170-250 us a SET), which is what keeps DPoP
throughput with the store near that without it.

Any failure (refused connection, timeout, a closed socket, an error reply to
the connection's setup) fails every waiting command with :class:`RespError`
and drops the connection; the next command connects again. A command that
times out also drops the connection, since its late reply would otherwise
answer the next command.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
from urllib.parse import unquote, urlsplit

Reply = bytes | int | None


class RespError(Exception):
    """The store could not answer this command."""


class RespClient:
    def __init__(self, url: str, *, timeout: float) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 6379
        self.tls = parts.scheme == "rediss"
        self.db = int(parts.path.strip("/") or 0)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._waiting: collections.deque[asyncio.Future[Reply]] = collections.deque()
        self._connecting: asyncio.Lock | None = None

    async def command(self, *args: str | bytes | int) -> Reply:
        writer = await self._connection()
        future = self._send(writer, args)
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.timeout)
        except TimeoutError:
            self._drop(RespError(f"no answer within {self.timeout:g} s"))
            raise RespError(f"no answer within {self.timeout:g} s") from None

    def _send(self, writer: asyncio.StreamWriter, args: tuple[str | bytes | int, ...]) -> asyncio.Future[Reply]:
        out = [b"*%d\r\n" % len(args)]
        for arg in args:
            data = arg if isinstance(arg, bytes) else str(arg).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(data), data))
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._waiting.append(future)  # in the same step as the write: replies come back in this order
        writer.write(b"".join(out))
        return future

    async def _connection(self) -> asyncio.StreamWriter:
        if self._writer is not None:
            return self._writer
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._writer is None:
                await self._connect()
        assert self._writer is not None
        return self._writer

    async def _connect(self) -> None:
        context = ssl.create_default_context() if self.tls else None
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port, ssl=context), self.timeout)
        except (OSError, TimeoutError) as exc:
            raise RespError(f"cannot connect to {self.host}:{self.port}: {exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__}") from None
        self._writer = writer
        self._reader_task = asyncio.get_running_loop().create_task(self._read(reader))
        setup: list[tuple[str | bytes | int, ...]] = []
        if self.password is not None:
            setup.append(("AUTH", self.username, self.password) if self.username else ("AUTH", self.password))
        if self.db:
            setup.append(("SELECT", self.db))
        for args in setup:
            future = self._send(writer, args)
            try:
                await asyncio.wait_for(asyncio.shield(future), self.timeout)
            except (RespError, TimeoutError) as exc:
                self._drop(RespError(f"connection setup failed ({args[0]!s})"))
                raise RespError(f"connection setup failed ({args[0]!s}): {exc}") from None

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                reply = await _read_reply(reader)
                if not self._waiting:
                    raise RespError("an answer nobody asked for")
                future = self._waiting.popleft()
                if not future.done():
                    if isinstance(reply, RespError):
                        future.set_exception(reply)
                        future.exception()  # retrieved even if its command stopped waiting (raised again for one that waits)
                    else:
                        future.set_result(reply)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, RespError, ValueError) as exc:
            self._drop(exc if isinstance(exc, RespError) else RespError(f"the connection ended ({type(exc).__name__})"))

    def _drop(self, error: RespError) -> None:
        writer, task = self._writer, self._reader_task
        self._writer, self._reader_task = None, None
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():
                future.set_exception(error)
                future.exception()  # retrieved: a command that timed out no longer awaits it
        if writer is not None:
            writer.close()
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    async def aclose(self) -> None:
        writer, task = self._writer, self._reader_task
        self._drop(RespError("closed"))
        if writer is not None:
            try:
                await writer.wait_closed()
            except OSError:
                pass
        if task is not None:
            try:
                await task
            except asyncio.CancelledError:
                pass


async def _read_reply(reader: asyncio.StreamReader) -> Reply | RespError:
    """One RESP2 reply: simple string, error, integer or bulk string (all this client sends for)."""
    line = await reader.readuntil(b"\r\n")
    kind, body = line[:1], line[1:-2]
    if kind == b"+":
        return body
    if kind == b"-":
        return RespError(body.decode("utf-8", "replace"))
    if kind == b":":
        return int(body)
    if kind == b"$":
        size = int(body)
        if size < 0:
            return None
        return (await reader.readexactly(size + 2))[:-2]
    raise RespError(f"an answer this client does not read ({kind!r})")
