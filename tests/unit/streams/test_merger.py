"""The window merger adds up every partition's partial, also when partitions are far apart."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from playpipe.config import Config
from playpipe.streams.aggsettings import AggregationSettings
from playpipe.streams.merger import WindowMerger
from playpipe.streams.partials import Partial, encoder
from playpipe.streams.rollup import Acc

SIZE = 10_000
FINE = ["cdn"]


@dataclass
class FakeMessage:
    """The part of a confluent-kafka message the merger reads."""

    payload: bytes
    part: int
    at: int

    def topic(self) -> str:
        return "test.aggregator.partials"

    def partition(self) -> int:
        return self.part

    def offset(self) -> int:
        return self.at

    def value(self) -> bytes:
        return self.payload


PARTITIONS = 2
"""Of the partials topic: a window's partials all go to one (they are keyed by window)."""


def partial(source: int, start_ms: int, attempts: int, revision: int = 1) -> FakeMessage:
    acc = Acc(attempts=attempts)
    value = encoder.encode(
        Partial("10s", SIZE, start_ms, source, revision, FINE, [(["akamai"], acc)])
    )
    return FakeMessage(value, start_ms // SIZE % PARTITIONS, start_ms // SIZE)


def attempts_of(outputs: list, start_ms: int) -> list[int]:  # type: ignore[type-arg]
    found = []
    for out in outputs:
        record = msgspec.json.decode(out.value)
        if record["window_start_ms"] == start_ms and record["dimensions"] == {"cdn": "akamai"}:
            found.append(record["attempts"])
    return found


def merger(clock: list[float]) -> WindowMerger:
    settings = AggregationSettings(dimension_sets=[["cdn"]])
    return WindowMerger(Config(), settings, idle_s=60.0, clock=lambda: clock[0])


def test_a_lagging_partition_adds_to_the_window_instead_of_replacing_it() -> None:
    clock = [0.0]
    m = merger(clock)
    m.process([partial(0, 0, 3), partial(1, 0, 4)])
    # Partition 0 races ahead by ten minutes of event time (a backlog being caught up) ...
    m.process([partial(0, t, 1) for t in range(SIZE, 600_000, SIZE)])
    clock[0] += 1.0
    # ... while partition 1, still sending, closes its second window only now.
    out = m.process([partial(1, SIZE, 2)])
    assert attempts_of(out, SIZE) == [3]


def test_windows_of_a_silent_partition_do_not_pile_up() -> None:
    clock = [0.0]
    m = merger(clock)
    m.process([partial(1, 0, 1)])  # partition 1 sends once, then has no more events
    clock[0] += 120.0
    m.process([partial(0, t, 1) for t in range(0, 600_000, SIZE)])
    assert min(start for _, start in m.windows) > 0


def test_a_partition_not_heard_from_yet_adds_to_the_window_when_it_comes() -> None:
    """Catching up a backlog: one partition's first windows close long after the others
    moved on; they still add to the windows the others sent."""
    clock = [0.0]
    m = merger(clock)
    m.sources = 2
    m.process([partial(0, 0, 3)])
    m.process([partial(0, t, 1) for t in range(SIZE, 600_000, SIZE)])
    clock[0] += 5.0
    out = m.process([partial(1, 0, 4)])
    assert attempts_of(out, 0) == [7]


def test_a_partition_never_heard_from_stops_holding_windows_back() -> None:
    clock = [0.0]
    m = merger(clock)
    m.sources = 2
    m.process([partial(0, t, 1) for t in range(0, 600_000, SIZE)])
    assert min(start for _, start in m.windows) == 0, "partition 1 may still send"
    clock[0] += 61.0
    m.process([partial(0, 600_000, 1)])
    assert min(start for _, start in m.windows) > 0


def test_a_correction_read_after_the_same_sources_newer_windows_still_adds_up() -> None:
    """A jump of one source's watermark publishes, in one go, the last correction of an old
    window and many new windows; they land in different partitions of the partials topic,
    read in any order: the new ones (partition 1) before the correction (partition 0)."""
    clock = [0.0]
    m = merger(clock)
    m.sources = 2
    m.process([partial(0, 0, 3), partial(1, 0, 4)])
    m.process([partial(1, t, 1) for t in range(SIZE, 600_000, SIZE)])  # source 1 ahead
    jump = [partial(0, 0, 2, revision=2)] + [partial(0, t, 1) for t in range(SIZE, 600_000, SIZE)]
    m.process([p for p in jump if p.partition() == 1])
    clock[0] += 1.0
    out = m.process([p for p in jump if p.partition() == 0])
    assert attempts_of(out, 0) == [6]
