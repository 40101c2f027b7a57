"""Time buckets of views: what is due when the watermark moves, without a heap or a sort.

A view is pushed under ``time // tick``; popping up to a time returns the buckets at or
before it, the last one possibly partly due (the caller checks each view and pushes back the
ones not due yet). Pushing a view again leaves its old entry behind; the caller recognises
stale entries because the view remembers the bucket it was last pushed to.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

__all__ = ["Buckets"]

T = TypeVar("T")


class Buckets(Generic[T]):
    """Items by time bucket of ``tick`` ms."""

    __slots__ = ("_buckets", "_low", "tick")

    def __init__(self, tick: int) -> None:
        self.tick = tick
        self._buckets: dict[int, list[T]] = {}
        self._low: int | None = None

    def __len__(self) -> int:
        return sum(len(items) for items in self._buckets.values())

    def push(self, key: int, item: T) -> None:
        """Add ``item`` under bucket ``key`` (a time divided by ``tick``)."""
        items = self._buckets.get(key)
        if items is None:
            self._buckets[key] = [item]
            if self._low is None or key < self._low:
                self._low = key
        else:
            items.append(item)

    def pop_until(self, time: int) -> Iterator[tuple[int, list[T]]]:
        """Remove and yield ``(key, items)`` of every bucket whose key is ``<= time // tick``."""
        low = self._low
        if low is None:
            return
        last = time // self.tick
        if last < low:
            return
        buckets = self._buckets
        if last - low + 1 <= 2 * len(buckets):
            keys: list[int] = [k for k in range(low, last + 1) if k in buckets]
        else:
            keys = sorted(k for k in buckets if k <= last)
        for key in keys:
            items = buckets.pop(key, None)
            if items is not None:
                yield key, items
        self._low = min(buckets) if buckets else None
