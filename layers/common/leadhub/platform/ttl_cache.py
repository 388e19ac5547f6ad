"""A small bounded cache whose entries expire: warm Lambda environments reuse lookups briefly.
Thread-safe (the delivery worker reads from several threads); a key missed by two threads at once may
be loaded twice."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    def __init__(
        self, ttl_seconds: float, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get_or_load(self, key: K, load: Callable[[K], V]) -> V:
        """The cached value (negative results included) while fresh, else `load(key)`, remembered."""
        now = self._clock()
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = load(key)  # not under the lock: a slow load must not hold up the other keys
        if self._ttl > 0:
            with self._lock:
                self._entries[key] = (now + self._ttl, value)
                self._entries.move_to_end(key)
                while len(self._entries) > self._max:
                    self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
