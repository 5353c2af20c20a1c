"""Bounded in-memory stores for the development AS: every map of clients,
requests, codes and grants is capped, the least recently used entry leaving
first (as oidc-provider's development adapter, an LRU cache, does), so an
open registration endpoint cannot grow memory without bound (issue 14 item 6)."""

from __future__ import annotations

import math
import time
from typing import Generic, TypeVar

from authkit_mcp_cli.server.dpop_store import MemoryReplayStore, StoreFull
from authkit_mcp_cli.server.lru import LRUCache as BoundedStore

K = TypeVar("K")

MAX_CLIENTS = 1000
MAX_PENDING = 1000
MAX_CODES = 1000
MAX_REFRESH_TOKENS = 5000
MAX_DEVICE_CODES = 500
MAX_ISSUED = 100_000  # access tokens remembered (jti -> grant) for revocation by grant
MAX_SEEN_JTI = 100_000
MAX_REVOKED = 100_000  # oldest first out: all access tokens share one lifetime, so those are the first to expire anyway
REGISTRATIONS_PER_MINUTE = 100  # per client address


class BoundedSet(Generic[K]):
    """A capped set (oldest entries leave first), for revoked ids."""

    def __init__(self, cap: int) -> None:
        self._store: BoundedStore[K, bool] = BoundedStore(cap)

    def add(self, key: K) -> None:
        self._store[key] = True

    def __contains__(self, key: object) -> bool:
        return key in self._store

    def __len__(self) -> int:
        return len(self._store)


class ReplayCache:
    """One-time ids (a client assertion's ``jti``) seen within their lifetime. Fail closed like the DPoP
    replay set (server/dpop_store.py): when full, new ids are refused rather than live ones forgotten."""

    def __init__(self, cap: int = MAX_SEEN_JTI) -> None:
        self._seen = MemoryReplayStore(cap)

    def first_use(self, jti: str, until: float) -> bool:
        """True the first time ``jti`` is seen (and remembers it until ``until``); False on a replay or when full."""
        now = time.time()
        try:
            return self._seen.claim(jti, ttl=max(1, math.ceil(until - now)), now=now)
        except StoreFull:
            return False

    def __len__(self) -> int:
        return len(self._seen)


class RateLimiter:
    """At most ``limit`` events per ``window`` seconds per key (a client address), in a sliding window;
    the keys themselves are capped like every other store."""

    def __init__(self, limit: int, window: float, *, cap: int = 1000) -> None:
        self.limit, self.window = limit, window
        self._events: BoundedStore[str, list[float]] = BoundedStore(cap)

    def _recent(self, key: str, now: float) -> list[float]:
        return [t for t in (self._events.get(key) or []) if t > now - self.window]

    def retry_after(self, key: str, now: float | None = None) -> float:
        """0 when the event is allowed (and counts it); else the seconds until the next one is."""
        now = time.time() if now is None else now
        recent = self._recent(key, now)
        if len(recent) >= self.limit:
            self._events[key] = recent
            return recent[0] + self.window - now
        recent.append(now)
        self._events[key] = recent
        return 0.0

    def full(self, key: str, now: float | None = None) -> bool:
        """Whether ``key`` has used up its events in the window (nothing is counted)."""
        return len(self._recent(key, time.time() if now is None else now)) >= self.limit

    def add(self, key: str, now: float | None = None) -> None:
        """Count one event for ``key`` (allowed or not: for failures, counted after they happen)."""
        now = time.time() if now is None else now
        self._events[key] = [*self._recent(key, now), now][-self.limit :]

    def __len__(self) -> int:
        return len(self._events)

    @property
    def cap(self) -> int:
        return self._events.cap
