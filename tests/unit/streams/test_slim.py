"""Slim events (what the aggregator decodes) give the same results as dictionary events."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from playpipe.dictionary import EVENT_TYPES, Event, decode_event, encode_event
from playpipe.dictionary._meta import MAX_INT, MAX_RENDITION_KBPS
from playpipe.dictionary.examples import example_event
from playpipe.streams import slim
from playpipe.streams.aggregation import Aggregation
from playpipe.streams.aggsettings import AggregationSettings
from playpipe.streams.viewstate import CODES, bitrate_bps, compact
from tests.unit.streams.scripts import View, feed
from tests.unit.streams.test_properties import (
    REORDER,
    SETTINGS,
    _arrive,
    scripted_views,
    tick_feed,
)


def _slim(events: list[Event]) -> list[slim.AnyEvent]:
    return [slim.decode(encode_event(e)) for e in events]


def test_every_event_type_keeps_its_code_and_facts() -> None:
    for event_type in EVENT_TYPES:
        for full in (False, True):
            event = example_event(event_type, full=full)
            light = slim.decode(encode_event(event))
            assert CODES.get(type(light)) == CODES.get(type(event)), event_type
            assert compact(light) == compact(event)
            assert bitrate_bps(light) == bitrate_bps(event)
            for name in slim.SlimEvent.__struct_fields__:
                mine, theirs = getattr(light, name), getattr(event, name)
                if isinstance(mine, msgspec.Struct):
                    for f in mine.__struct_fields__:
                        assert getattr(mine, f) == getattr(theirs, f), (event_type, name, f)
                else:
                    assert mine == theirs, (event_type, name)


def test_custom_dimensions_are_read_alike() -> None:
    v = View(custom={"plan": "pro", "tier": 2, "beta": True})
    events = v.script([(0, "view_start"), (300, "play_requested"), (900, "first_frame")])
    s = AggregationSettings(custom_dimensions=["plan", "tier", "beta"])
    assert feed(_slim(events), s).views == feed(events, s).views  # type: ignore[arg-type]


def test_a_buffered_slim_event_is_saved_and_restored() -> None:
    v = View()
    events = v.script([(0, "view_start"), (300, "play_requested"), (900, "first_frame")])
    later = v.script([(10_000, "heartbeat", 1600.0), (15_000, "view_end")])
    agg = Aggregation()
    for event in _slim(events):
        agg.add(event)
    agg.advance(900)  # within the reorder delay: the events stay buffered
    restored = Aggregation()
    restored.restore("v1", agg.snapshot_view("v1"))
    restored.restore_windows(agg.snapshot_windows())
    out = [feed(_slim(later), agg=a) for a in (agg, restored)]  # type: ignore[arg-type]
    assert out[0].views == out[1].views and out[0].views
    assert out[0].windows == out[1].windows and out[0].windows


@SETTINGS
@given(events=scripted_views(), data=st.data())
def test_slim_events_give_identical_output(events: list[Event], data: st.DataObject) -> None:
    n = len(events)
    delays = data.draw(st.lists(st.integers(0, REORDER * 3), min_size=n, max_size=n))
    ties = data.draw(st.lists(st.integers(), min_size=n, max_size=n))
    arrivals = _arrive(events, delays, ties)
    reference = tick_feed(arrivals)
    light = tick_feed(_slim(arrivals))  # type: ignore[arg-type]
    assert light.views == reference.views
    assert light.windows == reference.windows
    assert (light.late_events, light.duplicates, light.corrections) == (
        reference.late_events,
        reference.duplicates,
        reference.corrections,
    )


def _with(event: Event, **changes: object) -> bytes:
    return encode_event(msgspec.structs.replace(event, **changes))


def test_values_the_state_cannot_hold_are_refused_at_decode() -> None:
    """A record on `events` that breaks the dictionary's bounds (not written by the
    standardizer) is refused, not packed into a checkpoint that would then fail."""
    v = View("big")
    event = v(1_000, "heartbeat", kbps=2_500)
    fluxdata = event.fluxdata
    assert fluxdata is not None
    for changes in (
        {"seq": 2**53},
        {"seq": 2**64},
        {"client_ts": 2**63},
        {"event_ts": 2**63},
        {"fluxdata": msgspec.structs.replace(fluxdata, bitrate_kbps=1e13)},
    ):
        with pytest.raises(msgspec.ValidationError):
            slim.decode(_with(event, **changes))  # type: ignore[arg-type]
        with pytest.raises(msgspec.ValidationError):
            decode_event(_with(event, **changes))  # type: ignore[arg-type]


def test_the_largest_values_taken_go_through_state_and_checkpoints() -> None:
    v = View("max")
    events = v.script(
        [
            (0, "view_start"),
            (100, "play_requested"),
            (600, "first_frame", MAX_RENDITION_KBPS),
            (10_600, "heartbeat", MAX_RENDITION_KBPS),
        ]
    )
    v.seq = MAX_INT - 1
    events.append(v(20_600, "heartbeat", kbps=MAX_RENDITION_KBPS))
    agg = Aggregation()
    agg.add_many(_slim(events))
    agg.advance(20_600)
    agg.snapshot_view("max")
    agg.snapshot_windows()
    run = feed(_slim([v(30_600, "view_end")]), agg=agg)
    assert run.views["max"].avg_bitrate_kbps == MAX_RENDITION_KBPS
    assert run.views["max"].playing_time_ms == 30_000
    agg.snapshot_windows()
