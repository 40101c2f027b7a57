"""State in bytes: dirty tracking, view and window snapshots, exact restore after a crash."""

from __future__ import annotations

import msgspec
import pytest

from playpipe.dictionary import Event
from playpipe.streams.aggregation import Aggregation
from playpipe.streams.aggsettings import AggregationSettings
from tests.unit.streams.scripts import FAR, Run, View, collect, feed


def _views(n: int) -> list[Event]:
    events: list[Event] = []
    for i in range(n):
        v = View(f"v{i}", cdn=("akamai", "fastly")[i % 2], custom={"experiment": f"x{i % 3}"})
        t = 1000 * i
        steps = [(t, "view_start"), (t + 200, "play_requested"), (t + 900, "first_frame", 2000.0)]
        steps += [(t + 10_000 * k, "heartbeat", 2000.0) for k in range(1, 9)]
        steps += [(t + 33_000, "rebuffer_start"), (t + 34_500, "rebuffer_end")]
        if i % 3:
            steps.append((t + 85_000, "view_end"))  # the others time out
        events += v.script(sorted(steps, key=lambda s: s[0]))
    return sorted(events, key=lambda e: (e.event_ts or 0, e.view_id))


SETTINGS = AggregationSettings(
    custom_dimensions=["experiment"], dimension_sets=[[], ["experiment", "cdn"]]
)


def test_take_dirty_reports_changed_then_ended_views_once() -> None:
    agg = Aggregation()
    v = View()
    for e in v.script([(0, "play_requested"), (500, "first_frame")]):
        agg.add(e)
    assert agg.take_dirty() == (["v1"], [])
    assert agg.take_dirty() == ([], [])
    agg.add(v(9000, "view_end"))
    agg.advance(12_000)
    assert agg.take_dirty() == ([], ["v1"])
    with pytest.raises(KeyError):
        agg.snapshot_view("v1")


def test_a_view_snapshot_is_msgpack_and_restores_under_its_id_only() -> None:
    agg = Aggregation()
    for e in View().script([(0, "play_requested"), (500, "first_frame"), (3000, "heartbeat")]):
        agg.add(e)
    agg.advance(4000)
    data = agg.snapshot_view("v1")
    assert isinstance(msgspec.msgpack.decode(data), list)
    with pytest.raises(ValueError, match="not 'v2'"):
        Aggregation().restore("v2", data)


@pytest.mark.parametrize("cut", [0, 37, 81, 120, 163])
def test_restore_mid_stream_gives_the_same_output_as_no_crash(cut: int) -> None:
    events = _views(12)
    assert cut <= len(events)
    reference = feed(events, SETTINGS)

    agg = Aggregation(SETTINGS)
    before = feed(events[:cut], agg=agg, end=None)
    changed, _ = agg.take_dirty()
    views = {vid: agg.snapshot_view(vid) for vid in changed}
    global_state = agg.snapshot_windows()
    del agg  # the crash

    restored = Aggregation(SETTINGS)
    restored.restore_windows(global_state)
    for vid, data in views.items():
        restored.restore(vid, data)
    after = Run()
    for event in events[cut:]:
        restored.add(event)
        collect(after, restored, max(restored.watermark_ms, event.event_ts or 0))
    collect(after, restored, FAR)

    assert {**before.views, **after.views} == reference.views
    assert before.windows + after.windows == reference.windows
    assert reference.views["v0"].end_reason == "timeout"
    assert reference.views["v1"].custom == {"experiment": "x1"}
