"""View lifecycle rules: ends, timeouts, reordering, duplicates, late events, dimensions."""

from __future__ import annotations

import msgspec

from playpipe.dictionary import Event
from playpipe.streams.aggregation import Aggregation
from playpipe.streams.aggsettings import AggregationSettings
from tests.unit.streams.scripts import FAR, Run, View, collect, feed

PLAYED = [
    (0, "view_start"),
    (1000, "play_requested"),
    (1500, "first_frame", 2000.0),
    (11_500, "heartbeat", 2000.0),
    (13_000, "rebuffer_start"),
    (14_000, "rebuffer_end"),
    (21_500, "heartbeat", 2000.0),
    (25_000, "paused"),
    (27_000, "playing"),
    (31_500, "heartbeat", 2000.0),
]


def _no_dups(run: Run) -> dict[str, object]:
    return {vid: msgspec.structs.replace(r, duplicate_count=0) for vid, r in run.views.items()}


def test_view_end_closes_once_the_watermark_passed_it_by_the_reorder_delay() -> None:
    v = View()
    agg = Aggregation()
    run = Run()
    for event in v.script([*PLAYED, (33_000, "ended"), (33_100, "view_end")]):
        agg.add(event)
    collect(run, agg, 35_099)
    assert not run.views
    assert agg.open_views == 1
    collect(run, agg, 35_100)
    assert run.views["v1"].end_ms == 33_100
    assert run.views["v1"].outcome == "ended"
    assert agg.open_views == 0


def test_a_silent_view_times_out_at_its_last_event() -> None:
    run = feed(View().script(PLAYED))
    record = run.views["v1"]
    assert (record.end_reason, record.end_ms, record.outcome) == ("timeout", 31_500, "abandoned")
    assert record.playing_time_ms == 31_500 - 1500 - 1000 - 2000
    total = sum(
        r.playing_time_ms for r in run.final().values() if r.window == "1m" and not r.dimensions
    )
    assert total == record.playing_time_ms


def test_timeout_waits_for_view_timeout_after_the_last_event() -> None:
    agg = Aggregation()
    run = Run()
    for event in View().script(PLAYED):
        agg.add(event)
    collect(run, agg, 31_500 + 60_000 + 2000 - 1)
    assert not run.views
    collect(run, agg, 31_500 + 60_000 + 2000)
    assert run.views["v1"].end_reason == "timeout"


def test_a_view_that_requested_play_and_went_silent_is_an_exit_before_start() -> None:
    run = feed(View().script([(0, "view_start"), (400, "play_requested")]))
    record = run.views["v1"]
    assert (record.outcome, record.end_reason, record.watch_time_ms) == (
        "exit_before_start",
        "timeout",
        0,
    )


def test_silence_beyond_the_concurrency_timeout_is_counted_when_the_view_speaks_again() -> None:
    steps = [
        (0, "play_requested"),
        (1000, "first_frame"),
        (41_000, "heartbeat"),
        (50_000, "view_end"),
    ]
    run = feed(View().script(steps))
    assert run.views["v1"].playing_time_ms == 49_000
    final = run.final()
    assert (
        sum(r.playing_time_ms for r in final.values() if r.window == "10s" and not r.dimensions)
        == 49_000
    )


def test_reordered_events_within_the_reorder_delay_give_the_same_record() -> None:
    events = View().script([*PLAYED, (33_000, "ended"), (33_100, "view_end")])
    in_order = feed(events)
    swapped = events.copy()
    swapped[4], swapped[5] = swapped[5], swapped[4]  # rebuffer_end before rebuffer_start
    swapped[1], swapped[2] = swapped[2], swapped[1]
    shuffled = feed(swapped)
    assert shuffled.views == in_order.views
    assert shuffled.windows == in_order.windows
    assert shuffled.corrections == 0


def test_duplicates_are_dropped_whenever_they_come() -> None:
    events = View().script([*PLAYED, (33_100, "view_end")])
    clean = feed(events)
    dup = [*events[:3], events[1], *events[3:7], events[4], events[2], *events[7:]]
    run = feed(dup)
    assert run.duplicates == 3
    assert run.views["v1"].duplicate_count == 3
    assert _no_dups(run) == _no_dups(clean)
    assert run.windows == clean.windows


def test_an_event_reusing_a_buffered_seq_with_another_id_is_not_a_duplicate() -> None:
    v = View()
    events = v.script([(0, "play_requested"), (500, "first_frame"), (900, "view_end")])
    twin = msgspec.structs.replace(events[1], event_id="other-id")
    run = feed([events[0], events[1], twin, events[2]])
    assert run.duplicates == 0
    assert run.views["v1"].event_count == 4


def test_late_events_re_derive_the_view_and_correct_the_windows() -> None:
    events = View().script(
        [*PLAYED, (41_500, "heartbeat"), (45_000, "ended"), (45_100, "view_end")]
    )
    clean = feed(events)
    # rebuffer_start/end (13 s, 14 s) arrive after the heartbeats at 21.5 s and 31.5 s.
    late = events[:4] + events[6:10] + events[4:6] + events[10:]
    run = feed(late)
    assert run.corrections > 0
    assert run.views == clean.views
    assert run.final() == {k: _same_rev(r, run) for k, r in clean.final().items()}
    assert any(r.revision > 0 for r in run.windows)


def _same_rev(r: object, run: Run) -> object:
    key = r.key()  # type: ignore[attr-defined]
    return msgspec.structs.replace(r, revision=run.final()[key].revision)  # type: ignore[type-var]


def test_a_late_first_frame_still_starts_the_view() -> None:
    events = View().script(
        [
            (0, "play_requested"),
            (800, "first_frame"),
            (10_000, "heartbeat"),
            (20_000, "heartbeat"),
            (25_000, "view_end"),
        ]
    )
    run = feed([events[0], events[2], events[3], events[1], events[4]])
    record = run.views["v1"]
    assert (record.started, record.startup_time_ms, record.playing_time_ms) == (True, 800, 24_200)
    assert record.outcome == "abandoned"


def test_a_late_view_end_ends_the_view_at_its_time() -> None:
    events = View().script(
        [(0, "play_requested"), (500, "first_frame"), (5000, "view_end"), (9000, "heartbeat")]
    )
    other = View("w")(12_000, "heartbeat")  # moves the watermark: the heartbeat gets processed
    run = feed([events[0], events[1], events[3], other, events[2]])
    assert run.corrections == 1
    record = run.views["v1"]
    assert (record.end_ms, record.end_reason, record.playing_time_ms) == (5000, "ended", 4500)
    # The heartbeat was processed before the view_end arrived: it stays counted as used.
    assert (record.event_count, record.ignored_count) == (4, 0)


def test_events_of_an_ended_view_are_late() -> None:
    v = View()
    events = v.script([(0, "play_requested"), (500, "first_frame"), (5000, "view_end")])
    agg = Aggregation()
    run = feed(events, agg=agg, end=10_000)
    feed([v(9000, "heartbeat")], agg=agg, run=run, end=FAR)
    assert list(run.views) == ["v1"]
    assert run.late_events == 1


def _resumed_after_timeout(v: View) -> tuple[list[Event], list[Event]]:
    """A view silent for 61 s, then speaking again every 9 s for 3 minutes."""
    before = v.script([(0, "view_start"), (500, "play_requested"), (1500, "first_frame")])
    after = v.script([(t, "heartbeat") for t in range(62_500, 242_500, 9000)])
    return before, after


def test_a_timed_out_view_stays_ended_while_its_events_keep_coming() -> None:
    before, after = _resumed_after_timeout(View())
    run = feed(before + after)  # in order: the watermark reaches each event as it arrives
    assert list(run.views) == ["v1"], "emitted once"
    assert (run.views["v1"].end_reason, run.views["v1"].end_ms) == ("timeout", 1500)
    assert run.late_events == len(after)


def test_whether_an_ended_views_event_is_late_depends_on_event_time_not_arrival() -> None:
    v = View()
    before, after = _resumed_after_timeout(v)
    agg = Aggregation()
    run = feed(before, agg=agg, end=None)
    # Another view moves the watermark far on; the resumed events arrive 50 s late each.
    other = View("v2")
    arrivals: list[Event] = []
    for e in after:
        arrivals.append(other((e.event_ts or 0) + 50_000, "heartbeat"))
        arrivals.append(e)
    feed(arrivals, agg=agg, run=run, end=FAR)
    assert run.views["v1"].end_reason == "timeout" and run.views["v1"].end_ms == 1500
    assert run.late_events == len(after)


def test_an_ended_view_id_silent_for_late_grace_starts_a_new_view() -> None:
    v = View()
    before = v.script([(0, "play_requested"), (500, "first_frame"), (5000, "view_end")])
    agg = Aggregation()
    run = feed(before, agg=agg, end=None)
    until = 5000 + 60_000 + 60_000  # end + view timeout + late grace
    feed([v(until - 1, "heartbeat")], agg=agg, run=run, end=None)  # late: extends the limit
    assert run.late_events == 1
    collect(run, agg, until + 60_000)
    again = v.script([(until + 60_000 - 1 + 60_000, "play_requested")])
    fresh = Run()
    feed(again, agg=agg, run=fresh, end=FAR)
    assert run.views["v1"].end_reason == "ended"
    assert fresh.views["v1"].outcome == "exit_before_start", "a new view, same id"


def test_events_older_than_the_view_checkpoint_only_count() -> None:
    v = View()
    steps = [(0, "play_requested"), (100, "first_frame")]
    t = 100
    for i in range(40):  # many timeline events: old ones fold into the checkpoint
        t += 4000
        steps.append((t, "paused" if i % 2 == 0 else "playing"))
    events = v.script(steps)
    lost = v(150, "rendition_change", kbps=900.0)
    agg = Aggregation()
    run = feed(events, agg=agg, end=None)
    feed([lost], agg=agg, run=run)
    record = run.views["v1"]
    assert record.late_count == 1
    assert record.avg_bitrate_kbps is None  # the too-late bitrate did not enter the timeline
    assert record.event_count == len(events) + 1


def test_dimensions_come_from_the_first_event_carrying_each() -> None:
    settings = AggregationSettings(custom_dimensions=["experiment"], dimension_sets=[["cdn"]])
    bare = View("v1", cdn=None, country=None, custom={"experiment": "b"})
    full = View("v1", cdn="fastly", country="DE", custom={"experiment": "c"})
    full.seq = 1
    later = View("v1", cdn="akamai", country="FR")
    later.seq = 2
    events = [bare(0, "play_requested"), full(500, "first_frame"), later(900, "view_end")]
    record = feed(events, settings).views["v1"]
    assert (record.cdn, record.country, record.device_type, record.asn) == (
        "fastly",
        "DE",
        "desktop",
        3215,
    )
    assert record.custom == {"experiment": "b"}


def test_event_time_falls_back_to_client_time() -> None:
    event = View()(700, "play_requested")
    event.event_ts = None
    run = feed([event])
    assert run.views["v1"].play_intent_ms == 700


def test_lost_events_and_seq_jumps_do_not_break_deduplication() -> None:
    v = View()
    events = [v(0, "play_requested"), v(500, "first_frame")]
    v.seq = 5000  # a jump
    events += [v(9000, "heartbeat"), v(9500, "view_end")]
    run = feed([*events, events[2]])
    assert run.duplicates == 1
    assert run.views["v1"].event_count == 4
