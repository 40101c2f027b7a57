"""Batching by count, bytes and age, and the offsets that become safe with each batch."""

from __future__ import annotations

import time
from collections.abc import Callable

from playpipe.connectors.base import Record
from playpipe.connectors.settings import BatchSettings


class Batcher:
    """Collects records until ``max_events``, ``max_bytes`` or ``max_age_ms`` is reached.

    It also remembers, per (topic, partition), the next offset after every message read —
    delivered, dropped by the filter or dead-lettered alike — which becomes committable once
    the batch holding everything read before it has been delivered.
    """

    def __init__(
        self, settings: BatchSettings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.records: list[Record] = []
        self.bytes = 0
        self.started = 0.0
        self.read: dict[tuple[str, int], int] = {}

    def __len__(self) -> int:
        return len(self.records)

    def mark_read(self, topic: str, partition: int, offset: int) -> None:
        """A message was consumed (whatever becomes of it)."""
        self.read[(topic, partition)] = offset + 1

    def add(self, record: Record) -> None:
        """Add a record to the open batch."""
        if not self.records:
            self.started = self.clock()
        self.records.append(record)
        self.bytes += len(record.value)

    def extend(self, records: list[Record], size: int, since: float | None = None) -> None:
        """Add records whose values total ``size`` bytes (one call per consumed round).

        ``since`` is when the read that returned them began: a read waits for a full batch
        or its timeout, so its first record may have been waiting since then, and a new
        batch's age counts from there (else the first records wait two timeouts).
        """
        if not records:
            return
        if not self.records:
            self.started = self.clock() if since is None else min(since, self.clock())
        self.records.extend(records)
        self.bytes += size

    def full(self) -> bool:
        """Whether the count or byte limit is reached."""
        limits = self.settings
        return len(self.records) >= limits.max_events or self.bytes >= limits.max_bytes

    def age_left(self) -> float:
        """Seconds until the open batch is due (a large number when it is empty)."""
        if not self.records:
            return 3600.0
        return self.settings.max_age_ms / 1000 - (self.clock() - self.started)

    def due(self) -> bool:
        """Whether the batch should be delivered now."""
        return bool(self.records) and (self.full() or self.age_left() <= 0)

    def take_read(self) -> dict[tuple[str, int], int]:
        """The next offsets read since the last call (to commit once they are delivered)."""
        read, self.read = self.read, {}
        return read

    def take(self) -> list[Record]:
        """Close the open batch and return it."""
        records, self.records, self.bytes = self.records, [], 0
        return records

    def forget(self, partitions: set[tuple[str, int]]) -> None:
        """Partitions were revoked: drop their records and offsets (the next owner rereads)."""
        self.records = [r for r in self.records if (r.topic, r.partition) not in partitions]
        self.bytes = sum(len(r.value) for r in self.records)
        for tp in partitions:
            self.read.pop(tp, None)
