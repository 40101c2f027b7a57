"""Idle watermarks: silence on the events topic counts only once the standardizer caught up.

The aggregator is driven here with fake messages, a fake wall clock and a fake offset probe
(no Kafka). The case that failed end to end: the standardizer is down (the raw topic grows,
its group's committed offsets stand still) while the aggregator sees no events; a watermark
moved on by the wall clock timed out every open view whose next beacons were still waiting
in the raw topic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from playpipe.config import Config
from playpipe.dictionary import Event, encode_event
from playpipe.streams.aggregation import Aggregation
from playpipe.streams.aggregator import Aggregator, _Partition
from playpipe.streams.aggsettings import AggregationSettings
from playpipe.streams.upstream import UpstreamClock
from tests.unit.streams.scripts import View

IDLE_S = 3.0
SPEED = 30.0  # event time runs 30 times faster than the wall clock, as in the end-to-end test


@dataclass
class FakeMessage:
    event: Event
    at: int
    part: int = 0

    def partition(self) -> int:
        return self.part

    def offset(self) -> int:
        return self.at

    def value(self) -> bytes:
        return encode_event(self.event)


@dataclass
class FakeProbe:
    """Offsets of a raw topic with one partition, its group, and the events topic."""

    raw_end: int = 0
    committed: int = 0
    events_end: int = 0
    answers: bool = True
    calls: list[str] = field(default_factory=list)

    def upstream_ends(self) -> dict[int, int] | None:
        self.calls.append("ends")
        return {0: self.raw_end} if self.answers else None

    def upstream_committed(self) -> dict[int, int] | None:
        self.calls.append("committed")
        return {0: self.committed} if self.answers else None

    def input_ends(self, partitions: Iterable[int]) -> dict[int, int] | None:
        self.calls.append("inputs")
        return {p: self.events_end for p in partitions} if self.answers else None


class Harness:
    """One aggregator partition, a view's events on the events topic, a wall clock."""

    def __init__(self, probe: FakeProbe | None, partitions: int = 1) -> None:
        self.agg = Aggregator(Config(), AggregationSettings(), idle_s=IDLE_S, idle_speed=SPEED)
        for partition in range(partitions):
            self.agg.parts[partition] = _Partition(Aggregation(self.agg.settings))
        self.agg.upstream = UpstreamClock(probe, every_s=0.5)
        self.probe = probe
        self.now = 1000.0
        self.offset = 0
        self.offsets = [0] * partitions
        self.views: dict[str, dict[str, Any]] = {}

    def deliver(self, events: list[Event], partition: int = 0) -> None:
        """The standardizer wrote these events and committed; the aggregator reads them."""
        messages = []
        for event in events:
            messages.append(FakeMessage(event, self.offsets[partition], partition))
            self.offsets[partition] += 1
        self.offset = self.offsets[0]
        if self.probe is not None:
            self.probe.raw_end += len(events)
            self.probe.committed = self.probe.raw_end
            self.probe.events_end = self.offset  # partition 0's (the one tests watch)
        outputs = self.agg.process(messages)
        self.agg.parts[partition].last_event_wall = self.now  # read now, on the fake clock
        self._collect(outputs)

    def wait(self, seconds: float, step: float = 0.1) -> None:
        """Let wall time pass, ticking like the runner's loop."""
        end = self.now + seconds
        while self.now < end:
            self.now += step
            self._collect(self.agg.tick(self.now))

    def _collect(self, outputs: list[Any]) -> None:
        for out in outputs:
            if out.topic == self.agg.views_topic:
                record = msgspec.json.decode(out.value)
                assert record["view_id"] not in self.views, "view emitted twice"
                self.views[record["view_id"]] = record

    @property
    def watermark(self) -> int:
        return self.agg.parts[0].agg.watermark_ms

    def watermark_of(self, partition: int) -> int:
        return self.agg.parts[partition].agg.watermark_ms


def _playing(v: View, start: int, until: int) -> list[Event]:
    steps: list[tuple[Any, ...]] = [
        (start, "view_start"),
        (start + 500, "play_requested"),
        (start + 1500, "first_frame", 2000.0),
    ]
    steps += [(t, "heartbeat", 2000.0) for t in range(start + 10_000, until, 10_000)]
    return v.script(steps)


def test_a_stopped_standardizer_is_not_silence() -> None:
    h = Harness(FakeProbe())
    v = View("v1")
    h.deliver(_playing(v, 0, 30_000))
    assert h.probe is not None
    # The standardizer stops: beacons pile up in the raw topic, nothing reaches the events.
    for _ in range(20):  # 20 s of wall time = 600 s of event time at the test's speed
        h.probe.raw_end += 5
        h.wait(1.0)
    assert h.watermark == 20_000
    assert h.views == {}
    # It comes back: its backlog reaches the events topic before it commits.
    h.probe.events_end = h.offset + 3
    h.probe.committed = h.probe.raw_end
    h.wait(1.0)
    assert h.views == {}, "a backlog not yet read is not silence"
    h.deliver(
        v.script(
            [(t, "heartbeat", 2000.0) for t in range(30_000, 620_000, 10_000)]
            + [(620_000, "ended"), (620_100, "view_end")]
        )
    )
    h.wait(IDLE_S + 1.0)
    record = h.views["v1"]
    assert (record["end_reason"], record["outcome"]) == ("ended", "ended")
    assert record["playing_time_ms"] == 620_000 - 1500


def test_real_silence_still_times_views_out_with_the_wall_clock() -> None:
    h = Harness(FakeProbe())
    v = View("v1")
    h.deliver(_playing(v, 0, 30_000))
    h.wait(IDLE_S + 0.5)
    assert h.watermark > 20_000, "caught up everywhere: the watermark moves on"
    h.wait(3.0)  # 60 s of event time and the reorder delay: the view times out
    assert h.views["v1"]["end_reason"] == "timeout"
    assert h.views["v1"]["end_ms"] == 20_000


def test_a_pending_beacon_holds_the_watermark_until_the_standardizer_committed_it() -> None:
    h = Harness(FakeProbe())
    h.deliver(_playing(View("v1"), 0, 30_000))
    assert h.probe is not None
    h.probe.raw_end += 1  # a beacon the standardizer has not handled yet
    h.wait(5.0)
    assert h.watermark == 20_000
    h.probe.committed = h.probe.raw_end  # handled: it carried nothing for this partition
    h.wait(IDLE_S + 1.0)
    assert h.watermark > 20_000, "the silence was real: the watermark moves on"
    h.wait(3.0)
    assert h.views["v1"]["end_reason"] == "timeout"
    assert h.views["v1"]["end_ms"] == 20_000


def test_a_lagging_standardizer_holds_silent_partitions_until_it_caught_up() -> None:
    h = Harness(FakeProbe())
    h.deliver(_playing(View("v1"), 0, 30_000))
    probe = h.probe
    assert probe is not None
    for _ in range(20):  # it keeps handling beacons for other partitions, 2 s behind
        probe.raw_end += 1
        if probe.raw_end > 4 + h.offset:
            probe.committed = probe.raw_end - 4
        h.wait(0.5)
    assert h.watermark == 20_000
    assert h.views == {}
    probe.committed = probe.raw_end  # caught up: from now on the silence counts
    h.wait(IDLE_S + 0.5)
    moved = h.watermark - 20_000
    # The lagging 10 s do not count: at most the few seconds since it was last seen behind.
    assert 0 < moved <= int((IDLE_S + 0.5) * 1000 * SPEED)


def test_offsets_that_cannot_be_read_are_not_silence() -> None:
    probe = FakeProbe()
    h = Harness(probe)
    h.deliver(_playing(View("v1"), 0, 30_000))
    probe.answers = False
    h.wait(10.0)
    assert h.watermark == 20_000
    assert h.views == {}


def test_the_probe_is_read_only_while_a_partition_is_silent_and_at_most_twice_a_second() -> None:
    probe = FakeProbe()
    h = Harness(probe)
    h.deliver(_playing(View("v1"), 0, 30_000))
    h.wait(IDLE_S - 0.2)
    assert probe.calls == []
    h.wait(2.0)
    assert 3 <= len(probe.calls) // 3 <= 5
    assert probe.calls[:3] == ["ends", "committed", "inputs"]


def test_without_kafka_the_horizon_is_the_present() -> None:
    h = Harness(None)
    h.deliver(_playing(View("v1"), 0, 30_000))
    h.wait(IDLE_S + 3.0)
    assert h.views["v1"]["end_reason"] == "timeout"
