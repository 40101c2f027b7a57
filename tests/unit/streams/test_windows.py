"""Window maths: state time split at boundaries, percentiles, rates, corrections, late data."""

from __future__ import annotations

import pytest

from playpipe.streams.aggregation import Aggregation
from playpipe.streams.aggsettings import AggregationSettings
from tests.unit.streams.scripts import Run, View, collect, feed


def test_state_time_is_split_at_window_boundaries() -> None:
    run = feed(
        View().script(
            [
                (4000, "play_requested"),
                (5000, "first_frame"),
                (15_000, "heartbeat"),
                (25_000, "ended"),
                (25_000, "view_end"),
            ]
        )
    )
    w0, w1, w2 = (run.window("10s", t) for t in (0, 10_000, 20_000))
    assert (w0.playing_time_ms, w0.watch_time_ms, w0.attempts, w0.starts) == (5000, 6000, 1, 1)
    assert (w0.startup_time_p50_ms, w0.concurrent_viewers) == (1000, 1)
    assert (w1.playing_time_ms, w1.watch_time_ms, w1.attempts, w1.starts) == (10_000, 10_000, 0, 0)
    assert (w1.startup_time_p50_ms, w1.concurrent_viewers) == (None, 1)
    assert (w2.playing_time_ms, w2.concurrent_viewers) == (5000, 1)
    assert w2.experience_score == pytest.approx(run.views["v1"].experience_score, abs=1e-6)
    minute = run.window("1m", 0)
    assert (minute.playing_time_ms, minute.watch_time_ms, minute.concurrent_viewers) == (
        20_000,
        21_000,
        1,
    )
    assert minute.window_end_ms == 60_000 and minute.size_ms == 60_000


def test_startup_percentiles_are_exact_nearest_rank() -> None:
    events = []
    for i in range(1, 21):
        v = View(f"v{i:02d}")
        events += v.script(
            [(1000, "play_requested"), (1000 + 100 * i, "first_frame"), (9500, "view_end")]
        )
    events.sort(key=lambda e: e.event_ts or 0)
    w = feed(events).window("10s", 0)
    assert (w.starts, w.startup_time_p50_ms, w.startup_time_p90_ms, w.startup_time_p95_ms) == (
        20,
        1000,
        1800,
        1900,
    )


def test_zero_denominators_are_null() -> None:
    run = feed(
        View().script(
            [
                (0, "play_requested"),
                (1000, "first_frame"),
                (5000, "paused"),
                (25_000, "playing"),
                (26_000, "view_end"),
            ]
        )
    )
    w = run.window("10s", 10_000)  # paused throughout
    assert (w.attempts, w.start_failure_pct, w.exit_before_start_pct) == (0, None, None)
    assert (w.starts_active, w.playback_failure_pct) == (1, 0.0)
    assert (w.rebuffer_ratio, w.avg_bitrate_kbps, w.experience_score) == (None, None, None)
    assert w.concurrent_viewers == 0


def test_a_view_counts_once_per_window_and_paused_views_not_at_all() -> None:
    a = View("a").script(
        [
            (0, "play_requested"),
            (500, "first_frame"),
            (2000, "paused"),
            (3000, "playing"),
            (4000, "rebuffer_start"),
            (5000, "rebuffer_end"),
            (9000, "view_end"),
        ]
    )
    b = View("b").script(
        [(0, "play_requested"), (500, "first_frame"), (600, "paused"), (15_000, "view_end")]
    )
    run = feed(sorted(a + b, key=lambda e: e.event_ts or 0))
    w = run.window("10s", 0)
    assert (w.concurrent_viewers, w.starts_active) == (2, 2)
    assert (w.rebuffer_count, w.rebuffering_time_ms, w.playing_time_ms) == (1, 1000, 6600)
    assert w.rebuffer_ratio == 1000 / 7600
    assert run.window("10s", 10_000).concurrent_viewers == 0


def test_counts_fall_in_the_window_of_the_event_that_caused_them() -> None:
    a = View("a").script([(8000, "play_requested"), (12_000, "fatal"), (12_100, "view_end")])
    b = View("b").script([(1000, "play_requested"), (12_000, "view_end")])
    run = feed(sorted(a + b, key=lambda e: e.event_ts or 0))
    w0, w1 = run.window("10s", 0), run.window("10s", 10_000)
    assert (w0.attempts, w0.start_failures, w0.start_failure_pct, w0.exits_before_start) == (
        2,
        0,
        0.0,
        0,
    )
    assert (w1.attempts, w1.start_failures, w1.start_failure_pct) == (0, 1, None)
    assert (w1.exits_before_start, w1.exit_before_start_pct) == (1, None)
    m = run.window("1m", 0)
    assert (m.start_failure_pct, m.exit_before_start_pct) == (50.0, 50.0)


def test_playback_failure_rate_divides_by_started_views_active_in_the_window() -> None:
    a = View("a").script(
        [(0, "play_requested"), (500, "first_frame"), (15_000, "fatal"), (15_100, "view_end")]
    )
    b = View("b").script([(0, "play_requested"), (500, "first_frame"), (19_000, "view_end")])
    run = feed(sorted(a + b, key=lambda e: e.event_ts or 0))
    w = run.window("10s", 10_000)
    assert (w.playback_failures, w.starts_active, w.playback_failure_pct) == (1, 2, 50.0)


def test_a_failure_at_a_window_start_counts_its_view_as_active() -> None:
    run = feed(
        View().script(
            [(0, "play_requested"), (500, "first_frame"), (10_000, "fatal"), (10_100, "view_end")]
        )
    )
    w = run.window("10s", 10_000)
    assert (w.playback_failures, w.starts_active, w.playback_failure_pct) == (1, 1, 100.0)


def test_results_by_dimension_set_roll_up_the_same_views() -> None:
    events = []
    for vid, cdn in (("a", "akamai"), ("b", "akamai"), ("c", "fastly")):
        events += View(vid, cdn=cdn).script(
            [(1000, "play_requested"), (1500, "first_frame"), (9000, "view_end")]
        )
    run = feed(sorted(events, key=lambda e: e.event_ts or 0))
    assert run.window("10s", 0).attempts == 3
    assert run.window("10s", 0, cdn="akamai").attempts == 2
    assert run.window("10s", 0, cdn="fastly").concurrent_viewers == 1
    full = run.window("10s", 0, cdn="akamai", country="FR", device_type="desktop")
    assert full.playing_time_ms == 15_000
    assert run.window("10s", 0, country="FR").playing_time_ms == 22_500


def test_a_window_is_emitted_grace_after_its_end() -> None:
    agg = Aggregation()
    run = Run()
    for e in View().script(
        [(1000, "play_requested"), (1500, "first_frame"), (14_000, "heartbeat")]
    ):
        agg.add(e)
    collect(run, agg, 14_999)
    assert not run.windows
    collect(run, agg, 15_000)
    assert {r.window_start_ms for r in run.windows} == {0}
    assert all(r.revision == 0 for r in run.windows)


def test_late_activity_within_late_grace_re_emits_the_window() -> None:
    v, other = View("v"), View("o")
    start = v.script([(0, "play_requested"), (1000, "first_frame"), (30_000, "heartbeat")])
    rebuffer = v.script([(12_000, "rebuffer_start"), (14_000, "rebuffer_end")])
    # the heartbeat at 30 s has seq 2, the rebuffer events 3 and 4: out of order on purpose
    tail = v.script([(38_000, "heartbeat"), (40_000, "view_end")])
    driver = [other(t, "heartbeat") for t in (20_000, 28_000)]
    run = feed([*start[:2], driver[0], start[2], driver[1], *rebuffer, *tail])
    revisions = [
        r
        for r in run.windows
        if r.window == "10s" and r.window_start_ms == 10_000 and not r.dimensions
    ]
    # one correction per late event: rebuffering from 12 s on, then until 14 s
    assert [r.revision for r in revisions] == [0, 1, 2]
    assert [r.rebuffering_time_ms for r in revisions] == [0, 8000, 2000]
    assert (revisions[2].rebuffer_count, revisions[2].playing_time_ms) == (1, 8000)
    assert run.views["v"].rebuffer_count == 1


def test_activity_after_late_grace_is_counted_late_and_kept_in_the_view_only() -> None:
    v = View("v")
    events = v.script([(0, "play_requested"), (1000, "first_frame")])
    events += [v(t, "heartbeat") for t in range(10_000, 90_001, 10_000)]
    events += v.script([(5000, "rebuffer_start"), (6000, "rebuffer_end")])  # 85 s late
    events.append(v(95_000, "view_end"))
    run = feed(events)
    assert run.views["v"].rebuffering_time_ms == 1000
    assert run.window("10s", 0).rebuffering_time_ms == 0  # already final
    assert run.window("1m", 0).rebuffering_time_ms == 1000  # still correctable
    assert run.late_events == 2
    assert run.dropped > 0


def test_a_silent_view_counts_until_the_concurrency_timeout_then_is_withdrawn() -> None:
    agg = Aggregation()
    run = Run()
    for e in View().script([(0, "play_requested"), (1000, "first_frame"), (11_000, "heartbeat")]):
        agg.add(e)
    collect(run, agg, 45_000)
    first = {r.window_start_ms: r for r in run.windows if r.window == "10s" and not r.dimensions}
    assert (first[30_000].concurrent_viewers, first[30_000].playing_time_ms) == (1, 6000)
    collect(run, agg, 11_000 + 60_000 + 2000)
    assert run.views["v1"].end_reason == "timeout"
    final = run.final()
    w30 = next(
        r
        for r in final.values()
        if r.window == "10s" and r.window_start_ms == 30_000 and not r.dimensions
    )
    assert (w30.revision, w30.concurrent_viewers, w30.playing_time_ms) == (1, 0, 0)
    assert run.window("10s", 10_000).playing_time_ms == 1000
    assert run.window("10s", 10_000).concurrent_viewers == 1


def test_window_sizes_and_dimension_sets_are_configurable() -> None:
    settings = AggregationSettings(windows=["5s"], dimension_sets=[["device_type"]])
    run = feed(
        View().script([(0, "play_requested"), (1000, "first_frame"), (7000, "view_end")]), settings
    )
    assert {(r.window, r.window_start_ms, tuple(r.dimensions)) for r in run.windows} == {
        ("5s", 0, ("device_type",)),
        ("5s", 5000, ("device_type",)),
    }
