"""Checkpoints snapshot only state whose outputs were already acknowledged.

The runner produces a round's outputs together and waits for every acknowledgement before
the next round. A crash while they are in flight may keep some and lose others, in any
order; a checkpoint among them that already covered this round's work would make the
restored aggregator believe the lost outputs were sent. So a round's checkpoints describe
the state as it was when the round began.
"""

from __future__ import annotations

import time

from playpipe.config import Config
from playpipe.streams import changelog
from playpipe.streams.aggregation import Aggregation
from playpipe.streams.aggregator import Aggregator, _Partition
from playpipe.streams.aggsettings import AggregationSettings
from playpipe.streams.runner import Output
from tests.unit.streams.scripts import View
from tests.unit.streams.test_idle_upstream import FakeMessage


def _offsets(outputs: list[Output], state_topic: str) -> list[int]:
    return [
        int.from_bytes(o.value or b"", "big")
        for o in outputs
        if o.topic == state_topic and o.key == changelog.OFFSET_KEY
    ]


def test_a_rounds_checkpoint_covers_only_the_rounds_before_it() -> None:
    agg = Aggregator(Config(), AggregationSettings(), checkpoint_s=0.0)
    agg.parts[0] = _Partition(Aggregation(agg.settings))
    v = View("v1")
    script = [(0, "view_start"), (500, "play_requested"), (1500, "first_frame")]
    script += [(t, "heartbeat") for t in range(10_000, 100_000, 10_000)]
    events = v.script(script)
    seen: list[int] = []
    for offset, event in enumerate(events):  # one message per round, as the runner would
        round_outputs = agg.process([FakeMessage(event, offset)])
        round_outputs += agg.tick(time.monotonic())
        covered = _offsets(round_outputs, agg.state_topic)
        assert all(c <= offset for c in covered), "a checkpoint ran ahead of its outputs"
        seen += covered
    assert seen == list(range(1, len(events))), "a checkpoint each round, one round behind"
    tail = agg.tick(time.monotonic()) + agg.tick(time.monotonic())
    assert _offsets(tail, agg.state_topic) == [len(events)], "covered once it was sent"
