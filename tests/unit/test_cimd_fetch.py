"""The development AS's Client ID Metadata Document fetches against real
loopback servers: a total deadline (a dripping server), a streamed size cap
(a huge body), one generic answer for every fetch failure (a closed port
and an open one look the same), private destinations refused after
resolution unless allowed, and a bounded cache that honours max-age."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Awaitable, Callable

import pytest

from authkit_mcp_cli.server.local_as import cimd
from authkit_mcp_cli.server.local_as.cimd import FETCH_FAILED, MetadataDocumentFetcher, address_refusal, cache_seconds
from authkit_mcp_cli.server.local_as.provider import OAuthError

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_head(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


class RawServer:
    """A loopback TCP server whose handler writes whatever HTTP it likes."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.sent = 0
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> RawServer:
        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            try:
                await self.handler(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()

        self.server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    @property
    def base(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"


def document(url: str) -> bytes:
    return json.dumps({"client_id": url, "client_name": "Loopback CIMD", "redirect_uris": ["http://127.0.0.1:3000/cb"]}).encode()


def serving_document(path: str = "/client.json", cache_control: str | None = None) -> tuple[Handler, list[int]]:
    fetches: list[int] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await read_head(reader)
        host = head.split(b"\r\nHost: ", 1)[1].split(b"\r\n", 1)[0].decode()
        fetches.append(1)
        body = document(f"http://{host}{path}")
        extra = f"Cache-Control: {cache_control}\r\n" if cache_control else ""
        writer.write(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}Connection: close\r\n\r\n".encode() + body)
        await writer.drain()

    return handler, fetches


def refused(fetcher: MetadataDocumentFetcher, url: str) -> OAuthError:
    async def go() -> OAuthError:
        with pytest.raises(OAuthError) as info:
            await fetcher.fetch(url)
        return info.value

    return asyncio.run(go())


def test_a_dripping_server_fails_at_the_total_deadline():
    async def drip(reader, writer):
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n")
        for _ in range(200):  # one byte every 0.2 s: every read succeeds, the whole takes 40 s
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(0.2)

    async def go() -> tuple[OAuthError, float]:
        async with RawServer(drip) as server:
            fetcher = MetadataDocumentFetcher(allow_private=True, deadline=1.5)
            started = time.monotonic()
            with pytest.raises(OAuthError) as info:
                await fetcher.fetch(server.base + "/client.json")
            return info.value, time.monotonic() - started

    error, elapsed = asyncio.run(go())
    assert error.error == "invalid_client" and error.description == FETCH_FAILED
    # a per-read timeout would let the drip run its 40 s; 10 s keeps more than 3x over the 1.5 s deadline
    assert elapsed < 10, f"the fetch took {elapsed:.1f} s; the deadline is 1.5 s in total"


def test_a_huge_body_is_cut_off_while_streaming():
    streamed = {"bytes": 0}

    async def flood(reader, writer):
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")  # no length: read to close
        chunk = b"[" * 65536
        for _ in range(800):  # 50 MiB if nobody stops reading
            writer.write(chunk)
            await writer.drain()
            streamed["bytes"] += len(chunk)

    async def go() -> OAuthError:
        async with RawServer(flood) as server:
            fetcher = MetadataDocumentFetcher(allow_private=True, deadline=20)
            with pytest.raises(OAuthError) as info:
                await fetcher.fetch(server.base + "/client.json")
            await asyncio.sleep(0.2)
            return info.value

    error = asyncio.run(go())
    assert error.description == FETCH_FAILED
    # the socket buffers hold a few MiB at most; reading the whole body first would take all 50
    assert streamed["bytes"] < 16 * 1024 * 1024, streamed


def test_a_declared_oversized_body_is_refused_before_reading():
    async def big(reader, writer):
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(10)

    async def go() -> float:
        async with RawServer(big) as server:
            started = time.monotonic()
            with pytest.raises(OAuthError):
                await MetadataDocumentFetcher(allow_private=True, deadline=8).fetch(server.base + "/client.json")
            return time.monotonic() - started

    assert asyncio.run(go()) < 2


def test_closed_and_open_ports_give_the_same_answer():
    async def not_found(reader, writer):
        await read_head(reader)
        writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 9\r\n\r\nnot here!")
        await writer.drain()

    async def html(reader, writer):
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 6\r\n\r\n<html>")
        await writer.drain()

    async def hang_up(reader, writer):
        await read_head(reader)

    async def redirect(reader, writer):
        await read_head(reader)
        writer.write(b"HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/latest/meta-data\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]

    async def go() -> list[tuple[str, str]]:
        fetcher = MetadataDocumentFetcher(allow_private=True, deadline=5)
        answers = []
        for handler in (not_found, html, hang_up, redirect):
            async with RawServer(handler) as server:
                with pytest.raises(OAuthError) as info:
                    await fetcher.fetch(server.base + "/client.json")
                assert server.connections == 1
                answers.append((info.value.error, info.value.description))
        with pytest.raises(OAuthError) as info:
            await fetcher.fetch(f"http://127.0.0.1:{closed_port}/client.json")
        answers.append((info.value.error, info.value.description))
        return answers

    answers = asyncio.run(go())
    assert set(answers) == {("invalid_client", FETCH_FAILED)}, answers
    assert str(closed_port) not in FETCH_FAILED


def test_private_destinations_are_refused_after_resolution_unless_allowed(caplog):
    handler, fetches = serving_document()

    async def go() -> None:
        async with RawServer(handler) as server:
            port = server.base.rsplit(":", 1)[1]
            for url in (f"{server.base}/client.json", f"http://localhost:{port}/client.json"):
                with pytest.raises(OAuthError) as info:
                    await MetadataDocumentFetcher().fetch(url)
                assert info.value.description == FETCH_FAILED
            assert server.connections == 0  # refused before connecting
            client = await MetadataDocumentFetcher(allow_private=True).fetch(f"{server.base}/client.json")
            assert client.client_name == "Loopback CIMD" and server.connections == 1

    with caplog.at_level("WARNING", logger="atoms_auth.serve.cimd"):
        asyncio.run(go())
    assert "loopback" in caplog.text and "--allow-private-cimd" in caplog.text  # the detail is in the log


@pytest.mark.parametrize("address", ["127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0", "224.0.0.1", "100.64.0.1", "::1", "::", "fe80::1", "fc00::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1"])
def test_non_public_addresses_are_named(address):
    assert address_refusal(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_pass(address):
    assert address_refusal(address) is None


def test_cache_lifetime_follows_max_age_within_bounds():
    assert cache_seconds(None) == cimd.DEFAULT_CACHE_SECONDS
    assert cache_seconds("public, max-age=600") == 600
    assert cache_seconds("max-age=1") == cimd.MIN_CACHE_SECONDS
    assert cache_seconds("max-age=99999999") == cimd.MAX_CACHE_SECONDS
    assert cache_seconds("no-store") == cimd.MIN_CACHE_SECONDS


def test_documents_are_cached_for_max_age_then_fetched_again(monkeypatch):
    handler, fetches = serving_document(cache_control="max-age=120")
    now = [1000.0]
    monkeypatch.setattr(cimd.time, "monotonic", lambda: now[0])

    async def go() -> None:
        async with RawServer(handler) as server:
            fetcher = MetadataDocumentFetcher(allow_private=True)
            url = f"{server.base}/client.json"
            await fetcher.fetch(url)
            now[0] += 119
            await fetcher.fetch(url)
            assert len(fetches) == 1  # fresh: from the cache
            now[0] += 2
            await fetcher.fetch(url)
            assert len(fetches) == 2  # stale: fetched again

    asyncio.run(go())


def test_the_cache_is_a_bounded_lru():
    async def go() -> None:
        counts: dict[str, int] = {}

        async def handler(reader, writer):
            head = await read_head(reader)
            path = head.split(b" ", 2)[1].decode()
            host = head.split(b"\r\nHost: ", 1)[1].split(b"\r\n", 1)[0].decode()
            counts[path] = counts.get(path, 0) + 1
            body = document(f"http://{host}{path}")
            writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
            await writer.drain()

        async with RawServer(handler) as server:
            fetcher = MetadataDocumentFetcher(allow_private=True, max_cached=2)
            for name in ("a", "b", "a", "c", "a", "b"):
                await fetcher.fetch(f"{server.base}/{name}.json")
            # a stays (recently used); b was evicted by c, so it is fetched again
            assert counts == {"/a.json": 1, "/b.json": 2, "/c.json": 1}
            assert len(fetcher._cache) == 2

    asyncio.run(go())


def test_the_fetch_connects_to_the_address_it_checked_not_to_the_name_again(monkeypatch):
    """A rebinding resolver answers a "public" address first and loopback the second time; the fetch
    must connect to the first answer (the one it checked), so the second server never hears from it
    and the name is looked up exactly once. (127.0.0.1 stands in for the public address here: it is the
    only one a test can serve from, so it is the one address_refusal lets through.)"""
    honest_handler, fetches = serving_document()
    lookups: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def answer(host: str | bytes, port: object) -> list[tuple]:
        host = host.decode() if isinstance(host, bytes) else host  # anyio hands the name over IDNA-encoded
        if host != "localhost":
            return real_getaddrinfo(host, port, type=socket.SOCK_STREAM)  # address literals only
        lookups.append(host)
        address = "127.0.0.1" if len(lookups) == 1 else "127.0.0.2"  # the rebinding answer
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port)))]  # type: ignore[call-overload]

    async def rebinding_getaddrinfo(host, port, **_kwargs):
        return answer(host, port)

    monkeypatch.setattr(cimd, "address_refusal", lambda address: None if address == "127.0.0.1" else "loopback")
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *a, **k: answer(host, port))

    async def go() -> tuple[str, int]:
        asyncio.get_running_loop().getaddrinfo = rebinding_getaddrinfo  # type: ignore[method-assign]
        async with RawServer(honest_handler) as honest:
            port = int(honest.base.rsplit(":", 1)[1])
            attacker = RawServer(serving_document()[0])
            try:
                attacker.server = await asyncio.start_server(lambda r, w: attacker_hit(attacker, w), "127.0.0.2", port)
            except OSError:
                pytest.fail(f"127.0.0.2:{port} is taken; the rebinding target needs the same port")
            try:
                client = await MetadataDocumentFetcher().fetch(f"http://localhost:{port}/client.json")
            finally:
                attacker.server.close()
            return client.client_name, attacker.connections

    def attacker_hit(attacker: RawServer, writer: asyncio.StreamWriter) -> None:
        attacker.connections += 1
        writer.close()

    name, attacker_connections = asyncio.run(go())
    assert name == "Loopback CIMD" and len(fetches) == 1
    assert attacker_connections == 0, "the fetch resolved the name again and connected to the rebinding answer"
    assert lookups == ["localhost"]
