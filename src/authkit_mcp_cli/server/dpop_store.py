"""Where serve remembers DPoP proofs it accepted and keeps its nonce key
(RFC 9449 §11.1 replay, §9 nonces), behind one interface, :class:`ReplayStore`.

- :class:`MemoryReplayStore`, the default: one per process, so with
  ``--workers N`` each worker has its own (a proof replayed to another worker
  is not caught). Bounded, and when full it REFUSES new proofs (fail closed):
  it never forgets a live entry, since whoever could flush it could then
  replay an older proof still inside its ``iat`` window. Entries leave when
  their proof could no longer be accepted.
- :class:`RedisReplayStore` (``serve --store redis://host:port/db``, Redis or
  Valkey): shared by every worker and instance on the store. A proof is
  claimed with one atomic ``SET key 1 NX EX ttl``; the nonce key is created
  once with ``SET NX`` and read by everyone, so a nonce one instance issues
  another accepts. When the store cannot be reached the operations raise
  :class:`StoreUnavailable` and the caller refuses the request (fail closed).
  It speaks RESP through server/resp_client.py.
"""

from __future__ import annotations

import heapq
import secrets
import time
from typing import Protocol
from urllib.parse import urlsplit

from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import UsageError
from authkit_mcp_cli.server.resp_client import RespClient, RespError

MAX_MEMORY_ENTRIES = 100_000
KEY_PREFIX = "atoms-auth:dpop:"
NONCE_KEY_NAME = KEY_PREFIX + "nonce-key"
NONCE_KEY_REFRESH = 60.0  # seconds between re-reads of the shared nonce key (a store restarted empty gets a new one)
STORE_SCHEMES = ("redis", "rediss")
STORE_TIMEOUT = 2.0  # seconds for one store round trip or connection


class StoreUnavailable(Exception):
    """The shared store could not answer; the proof cannot be checked for replay."""


class StoreFull(Exception):
    """The in-memory store holds its maximum of live entries; new proofs are refused until some expire."""


class ReplayStore(Protocol):
    shared: bool  # True when every worker and instance on it sees the same entries

    async def first_use(self, key: str, *, ttl: int, now: float) -> bool:
        """True the first time ``key`` is claimed within ``ttl`` seconds, False on a replay."""
        ...

    async def nonce_key(self) -> bytes:
        """The secret nonces are made with (the same for everyone sharing the store)."""
        ...

    async def aclose(self) -> None: ...


class MemoryReplayStore:
    """A bounded, fail-closed, per-process replay set (see the module docstring)."""

    shared = False

    def __init__(self, cap: int = MAX_MEMORY_ENTRIES) -> None:
        if cap < 1:
            raise ValueError("cap must be positive")
        self.cap = cap
        self._expiry: dict[str, float] = {}
        self._by_expiry: list[tuple[float, str]] = []  # a heap: what to forget next
        self._nonce_key = secrets.token_bytes(32)

    def claim(self, key: str, *, ttl: int, now: float | None = None) -> bool:
        """The synchronous :meth:`first_use` (the development AS's token endpoint is synchronous code)."""
        now = time.time() if now is None else now
        expires = self._expiry.get(key)
        if expires is not None and expires > now:
            return False
        self._forget_expired(now)
        if key not in self._expiry and len(self._expiry) >= self.cap:
            raise StoreFull(f"{len(self._expiry)} proofs are still inside their acceptance window")
        self._expiry[key] = now + ttl
        heapq.heappush(self._by_expiry, (now + ttl, key))
        return True

    async def first_use(self, key: str, *, ttl: int, now: float) -> bool:
        return self.claim(key, ttl=ttl, now=now)

    def _forget_expired(self, now: float) -> None:
        while self._by_expiry and self._by_expiry[0][0] <= now:
            expires, key = heapq.heappop(self._by_expiry)
            if self._expiry.get(key) == expires:
                del self._expiry[key]

    def nonce_key_now(self) -> bytes:
        return self._nonce_key

    async def nonce_key(self) -> bytes:
        return self._nonce_key

    async def aclose(self) -> None:
        return None

    def __len__(self) -> int:
        return len(self._expiry)


class RedisReplayStore:
    """The replay set and nonce key in Redis or Valkey, shared by every worker and instance."""

    shared = True

    def __init__(self, url: str, *, timeout: float = STORE_TIMEOUT) -> None:
        self.url = url
        self._client = RespClient(url, timeout=timeout)
        self._nonce_key: bytes | None = None
        self._nonce_read_at = 0.0

    async def first_use(self, key: str, *, ttl: int, now: float) -> bool:
        # one atomic step: set if absent, with the expiry (a replay finds the key and gets a nil reply)
        return await self._command("SET", KEY_PREFIX + key, b"1", "NX", "EX", max(1, ttl)) == b"OK"

    async def nonce_key(self) -> bytes:
        if self._nonce_key is not None and time.monotonic() - self._nonce_read_at < NONCE_KEY_REFRESH:
            return self._nonce_key
        await self._command("SET", NONCE_KEY_NAME, secrets.token_bytes(32), "NX")  # the first instance creates it
        value = await self._command("GET", NONCE_KEY_NAME)
        if not isinstance(value, bytes) or len(value) < 16:
            raise StoreUnavailable(f"the store's nonce key ({NONCE_KEY_NAME}) is missing or too short")
        self._nonce_key, self._nonce_read_at = value, time.monotonic()
        return value

    async def ping(self) -> None:
        await self._command("PING")

    async def _command(self, *args: str | bytes | int) -> bytes | int | None:
        try:
            return await self._client.command(*args)
        except RespError as exc:
            raise StoreUnavailable(str(exc)) from None

    async def aclose(self) -> None:
        await self._client.aclose()


def check_store_url(url: str) -> str:
    """``redis://host[:port][/db]`` (or ``rediss://`` for TLS), else a usage error (exit 2)."""
    hint = "Use --store redis://HOST:PORT/DB, e.g. redis://127.0.0.1:6379/0 (Redis or Valkey)."
    shown = shown_store_url(url)
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise UsageError(f"--store {shown!r} is not a valid URL (the port must be a number from 1 to 65535).", hint=hint, code=ErrorCode.USAGE_STORE_URL) from None
    if parts.scheme not in STORE_SCHEMES:
        raise UsageError(f"--store {shown!r}: the scheme must be redis:// or rediss://, not {parts.scheme or 'none'}.", hint=hint, code=ErrorCode.USAGE_STORE_URL)
    if not parts.hostname:
        raise UsageError(f"--store {shown!r} names no host.", hint=hint, code=ErrorCode.USAGE_STORE_URL)
    if port == 0:
        raise UsageError(f"--store {shown!r}: port 0 is not a server's port.", hint=hint, code=ErrorCode.USAGE_STORE_URL)
    db = parts.path.strip("/")
    if db and not (db.isdigit() and db.isascii()):
        raise UsageError(f"--store {shown!r}: the path must be a database number such as /0, not /{db}.", hint=hint, code=ErrorCode.USAGE_STORE_URL)
    if parts.query or parts.fragment:
        raise UsageError(f"--store {shown!r}: options in the URL are not supported.", hint=hint, code=ErrorCode.USAGE_STORE_URL)
    return url.strip()


def shown_store_url(url: str) -> str:
    """The URL without its user and password, for messages, the banner and the log."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return "(an unreadable URL)"
    netloc = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=netloc).geturl()


def open_store(url: str | None) -> MemoryReplayStore | RedisReplayStore:
    """The store ``--store`` names (checked already), or a new in-memory one."""
    return RedisReplayStore(url) if url else MemoryReplayStore()
