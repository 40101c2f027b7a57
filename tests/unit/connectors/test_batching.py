"""Batching by count, bytes and age (a fake clock: no waiting)."""

from __future__ import annotations

from playpipe.connectors.base import Record
from playpipe.connectors.batching import Batcher
from playpipe.connectors.settings import BatchSettings


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _records(n: int) -> list[Record]:
    return [Record({"i": i}, b"{}", None, "t", 0, i, 0) for i in range(n)]


def test_a_batch_is_due_by_count_bytes_or_age() -> None:
    clock = Clock()
    batcher = Batcher(BatchSettings(max_events=3, max_bytes=100, max_age_ms=200), clock)
    assert not batcher.due() and batcher.age_left() > 1
    batcher.extend(_records(2), 4)
    assert not batcher.due()
    clock.now += 0.15
    assert not batcher.due()
    clock.now += 0.05
    assert batcher.due(), "200 ms old"
    batcher.take()
    batcher.extend(_records(3), 6)
    assert batcher.due(), "3 events"
    batcher.take()
    batcher.extend(_records(1), 100)
    assert batcher.due(), "100 bytes"


def test_a_new_batch_ages_from_when_the_read_that_filled_it_began() -> None:
    """A read waits up to its timeout for a full batch; what it returns may have waited
    that long already, so the batch is not given a second full age on top."""
    clock = Clock()
    batcher = Batcher(BatchSettings(max_events=1000, max_age_ms=200), clock)
    since = clock.now
    clock.now += 0.2  # the read waited its whole timeout
    batcher.extend(_records(10), 20, since)
    assert batcher.due()
    batcher.take()
    since = clock.now
    clock.now += 0.05
    batcher.extend(_records(10), 20, since)
    assert abs(batcher.age_left() - 0.15) < 1e-9
    clock.now += 0.1
    batcher.extend(_records(10), 20, clock.now)  # an open batch keeps its start
    assert abs(batcher.age_left() - 0.05) < 1e-9


def test_without_a_read_start_a_batch_ages_from_now() -> None:
    clock = Clock()
    batcher = Batcher(BatchSettings(max_events=1000, max_age_ms=200), clock)
    batcher.extend(_records(1), 2)
    assert abs(batcher.age_left() - 0.2) < 1e-9
