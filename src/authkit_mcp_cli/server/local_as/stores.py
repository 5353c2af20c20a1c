"""Bounded in-memory stores for the development AS: every map of clients,
requests, codes and grants is capped, the least recently used entry leaving
first (as oidc-provider's development adapter, an LRU cache, does), so an
open registration endpoint cannot grow memory without bound (issue 14 item 6)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterator
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

MAX_CLIENTS = 1000
MAX_PENDING = 1000
MAX_CODES = 1000
MAX_REFRESH_TOKENS = 5000
MAX_DEVICE_CODES = 500
MAX_ISSUED = 100_000  # access tokens remembered (jti -> grant) for revocation by grant
MAX_SEEN_JTI = 100_000
MAX_REVOKED = 100_000  # oldest first out: all access tokens share one lifetime, so those are the first to expire anyway
REGISTRATIONS_PER_MINUTE = 100  # per client address


class BoundedStore(Generic[K, V]):
    """A dict-like LRU map holding at most ``cap`` entries; reading an entry makes it the most recent."""

    def __init__(self, cap: int) -> None:
        if cap < 1:
            raise ValueError("cap must be positive")
        self.cap = cap
        self._data: OrderedDict[K, V] = OrderedDict()

    def __setitem__(self, key: K, value: V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.cap:
            self._data.popitem(last=False)

    def __getitem__(self, key: K) -> V:
        value = self._data[key]
        self._data.move_to_end(key)
        return value

    def get(self, key: K, default: V | None = None) -> V | None:
        if key not in self._data:
            return default
        return self[key]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __delitem__(self, key: K) -> None:
        del self._data[key]

    def pop(self, key: K, default: V | None = None) -> V | None:
        return self._data.pop(key, default)

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self) -> Iterator[K]:
        return iter(list(self._data))

    def items(self) -> list[tuple[K, V]]:
        return list(self._data.items())

    def values(self) -> list[V]:
        return list(self._data.values())


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
    """One-time ids (a client assertion's or a DPoP proof's ``jti``) seen within their lifetime, capped."""

    def __init__(self, cap: int = MAX_SEEN_JTI) -> None:
        self._seen: BoundedStore[str, float] = BoundedStore(cap)

    def first_use(self, jti: str, until: float) -> bool:
        """True the first time ``jti`` is seen (and remembers it until ``until``); False on a replay."""
        now = time.time()
        expiry = self._seen.get(jti)
        if expiry is not None and expiry >= now:
            return False
        self._seen[jti] = until
        return True

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
