"""The one bounded LRU map every cache in serve uses (issue 21 item 8): the
development AS's stores, the token verdict cache, the client metadata
document cache. At most ``cap`` entries; reading or writing an entry makes it
the most recent; past the cap the least recently used leaves first.

Not for one-time ids (DPoP ``jti``, client assertions): forgetting a live one
would let its proof be replayed, so those live in server/dpop_store.py, which
refuses new entries when full instead of evicting."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class LRUCache(Generic[K, V]):
    """A dict-like LRU map holding at most ``cap`` entries."""

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
