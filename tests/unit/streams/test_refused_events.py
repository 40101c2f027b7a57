"""A record on `events` the aggregator cannot take is counted, logged with where it is, and
the rest of the round goes on."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec
import pytest

from playpipe import telemetry
from playpipe.config import Config
from playpipe.dictionary import encode_event
from playpipe.streams.aggregation import Aggregation
from playpipe.streams.aggregator import Aggregator, _Partition
from playpipe.streams.aggsettings import AggregationSettings
from tests.unit.streams.scripts import View


@dataclass
class RawMessage:
    payload: bytes | None
    at: int

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self.at

    def value(self) -> bytes | None:
        return self.payload


def test_bad_records_are_counted_and_logged_and_the_rest_processed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    agg = Aggregator(Config(), AggregationSettings(), checkpoint_s=1e9)
    part = agg.parts[0] = _Partition(Aggregation(agg.settings))
    v = View("v1")
    good = v.script([(0, "view_start"), (500, "play_requested"), (1500, "first_frame")])
    huge = msgspec.structs.replace(v(2_000, "heartbeat"), seq=2**64)
    counter = telemetry.errors.labels("aggregator", "decode")
    before = counter._value.get()
    messages = [RawMessage(encode_event(good[0]), 0), RawMessage(b"not json", 1)]
    messages += [RawMessage(encode_event(huge), 2), RawMessage(None, 3)]
    messages += [RawMessage(encode_event(e), 4 + i) for i, e in enumerate(good[1:])]
    agg.process(messages)  # type: ignore[arg-type]
    assert counter._value.get() - before == 3
    assert part.next_offset == 6
    assert part.agg.open_views == 1  # the good events made their view
    [line] = [r for r in caplog.records if r.getMessage() == "events.refused"]
    facts = line.facts  # type: ignore[attr-defined]
    assert (facts["count"], facts["partition"], facts["offset"]) == (3, 0, 1)
    assert facts["error"]
