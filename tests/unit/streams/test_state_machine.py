"""Every transition of the state table in docs/metrics.md, on scripted views.

Each case plays a short view with distinct durations, so that the time in each state and the
outcome of the record show which transitions were taken.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.streams.scripts import one_view

Steps = list[tuple[Any, ...]]

START: Steps = [(0, "view_start"), (1000, "play_requested"), (1500, "first_frame")]
"""Intent at 1 s, first frame at 1.5 s: startup 500 ms, playing from 1.5 s."""

CASES: dict[str, tuple[Steps, dict[str, Any]]] = {
    "idle -> startup -> playing, ended by view_end": (
        [*START, (11_500, "view_end")],
        dict(
            attempted=True,
            started=True,
            startup_time_ms=500,
            playing_time_ms=10_000,
            watch_time_ms=10_500,
            outcome="abandoned",
            end_reason="ended",
            play_intent_ms=1000,
        ),
    ),
    "player_ready and view_start keep idle": (
        [(0, "player_ready"), (200, "view_start"), (5000, "view_end")],
        dict(
            attempted=False,
            started=False,
            watch_time_ms=0,
            outcome="no_attempt",
            success_score=None,
            experience_score=None,
        ),
    ),
    "idle -> playing on first_frame without intent (autoplay from view_start)": (
        [(0, "player_ready"), (1000, "view_start"), (1700, "first_frame"), (5000, "view_end")],
        dict(
            attempted=True,
            play_intent_ms=1000,
            startup_time_ms=700,
            watch_time_ms=4000,
            playing_time_ms=3300,
        ),
    ),
    "idle -> ad on ad_break_start without intent (autoplay preroll)": (
        [
            (0, "view_start"),
            (500, "ad_break_start"),
            (15_500, "ad_break_end"),
            (16_000, "first_frame"),
            (20_000, "view_end"),
        ],
        dict(
            attempted=True,
            play_intent_ms=0,
            startup_time_ms=1000,
            ad_time_ms=15_000,
            watch_time_ms=5000,
            playing_time_ms=4000,
        ),
    ),
    "startup -> ad -> startup -> playing (ad time is not startup time)": (
        [
            (0, "play_requested"),
            (300, "ad_break_start"),
            (10_300, "ad_break_end"),
            (11_000, "first_frame"),
            (12_000, "view_end"),
        ],
        dict(startup_time_ms=1000, ad_time_ms=10_000, watch_time_ms=2000, playing_time_ms=1000),
    ),
    "ad -> playing on a first_frame whose ad_break_end was lost": (
        [(0, "play_requested"), (300, "ad_break_start"), (5300, "first_frame"), (6300, "view_end")],
        dict(started=True, startup_time_ms=300, ad_time_ms=5000, playing_time_ms=1000),
    ),
    "startup -> ended on a fatal error: start failure": (
        [(0, "view_start"), (1000, "play_requested"), (4000, "fatal"), (4100, "view_end")],
        dict(
            attempted=True,
            started=False,
            startup_time_ms=None,
            watch_time_ms=3000,
            outcome="start_failure",
            success_score=0,
            experience_score=0,
            startup_score=None,
            smoothness_score=None,
        ),
    ),
    "startup -> ended on view_end: exit before start": (
        [(0, "play_requested"), (2500, "view_end")],
        dict(
            outcome="exit_before_start", watch_time_ms=2500, success_score=50, experience_score=50
        ),
    ),
    "idle + fatal error: a failed implicit start": (
        [(0, "view_start"), (800, "fatal"), (900, "view_end")],
        dict(attempted=True, play_intent_ms=0, outcome="start_failure", watch_time_ms=800),
    ),
    "playing -> paused -> playing": (
        [*START, (3500, "paused"), (8500, "playing"), (9500, "view_end")],
        dict(playing_time_ms=3000, paused_time_ms=5000, watch_time_ms=3500),
    ),
    "playing -> seeking -> playing": (
        [*START, (3500, "seek_start"), (4200, "seek_end"), (5200, "view_end")],
        dict(playing_time_ms=3000, seeking_time_ms=700, watch_time_ms=4200, rebuffer_count=0),
    ),
    "paused -> seeking -> paused -> playing": (
        [
            *START,
            (2500, "paused"),
            (4500, "seek_start"),
            (5000, "seek_end"),
            (8000, "playing"),
            (9000, "view_end"),
        ],
        dict(playing_time_ms=2000, paused_time_ms=5000, seeking_time_ms=500),
    ),
    "playing -> rebuffering -> playing": (
        [*START, (2500, "rebuffer_start"), (4500, "rebuffer_end"), (5500, "view_end")],
        dict(
            playing_time_ms=2000,
            rebuffering_time_ms=2000,
            rebuffer_count=1,
            rebuffer_ratio=0.5,
            rebuffer_frequency_per_min=30.0,
        ),
    ),
    "rebuffering -> paused -> playing": (
        [*START, (2500, "rebuffer_start"), (3500, "paused"), (6500, "playing"), (7500, "view_end")],
        dict(playing_time_ms=2000, rebuffering_time_ms=1000, paused_time_ms=3000),
    ),
    "rebuffering -> seeking -> playing": (
        [
            *START,
            (2500, "rebuffer_start"),
            (3500, "seek_start"),
            (4000, "seek_end"),
            (5000, "view_end"),
        ],
        dict(playing_time_ms=2000, rebuffering_time_ms=1000, seeking_time_ms=500),
    ),
    "rebuffering -> ended": (
        [*START, (2500, "rebuffer_start"), (3000, "ended"), (3100, "view_end")],
        dict(rebuffering_time_ms=500, outcome="ended"),
    ),
    "rebuffering -> ended on a fatal error: playback failure": (
        [*START, (2500, "rebuffer_start"), (3000, "fatal"), (3100, "view_end")],
        dict(rebuffering_time_ms=500, outcome="playback_failure", success_score=0),
    ),
    "rebuffering -> ended on view_end": (
        [*START, (2500, "rebuffer_start"), (3000, "view_end")],
        dict(rebuffering_time_ms=500, outcome="abandoned"),
    ),
    "playing -> ad -> playing (midroll)": (
        [*START, (2500, "ad_break_start"), (17_500, "ad_break_end"), (18_500, "view_end")],
        dict(playing_time_ms=2000, ad_time_ms=15_000, startup_time_ms=500, watch_time_ms=2500),
    ),
    "playing -> ended": (
        [*START, (6500, "ended"), (6600, "view_end")],
        dict(playing_time_ms=5000, outcome="ended", success_score=100),
    ),
    "paused -> ended": (
        [*START, (2500, "paused"), (3500, "ended"), (3600, "view_end")],
        dict(paused_time_ms=1000, outcome="ended"),
    ),
    "paused -> ended on view_end": (
        [*START, (2500, "paused"), (4500, "view_end")],
        dict(paused_time_ms=2000, watch_time_ms=1500, outcome="abandoned"),
    ),
    "playing -> ended on a fatal error after first frame: playback failure": (
        [*START, (6500, "fatal"), (7000, "view_end")],
        dict(playing_time_ms=5000, outcome="playback_failure"),
    ),
    "paused -> ended on a fatal error": (
        [*START, (2500, "paused"), (3000, "fatal"), (9000, "view_end")],
        dict(paused_time_ms=500, outcome="playback_failure"),
    ),
    "seeking -> ended on a fatal error": (
        [*START, (2500, "seek_start"), (3000, "fatal"), (9000, "view_end")],
        dict(seeking_time_ms=500, outcome="playback_failure"),
    ),
    "a business error is kept out of the failures": (
        [(0, "play_requested"), (500, "business"), (900, "view_end")],
        dict(outcome="business_failure", success_score=None, experience_score=None),
    ),
    "a warning changes nothing": (
        [*START, (2500, "warning"), (3500, "view_end")],
        dict(playing_time_ms=2000, outcome="abandoned", fatal_error=None),
    ),
    "the first fatal error wins; an error after ended is ignored": (
        [*START, (2500, "ended"), (3000, "fatal"), (3100, "view_end")],
        dict(outcome="ended", fatal_error=None, ignored_count=1),
    ),
    "ended is terminal": (
        [*START, (2500, "ended"), (3000, "playing"), (4000, "seek_start"), (5000, "view_end")],
        dict(playing_time_ms=1000, ignored_count=2, outcome="ended"),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_transition(name: str) -> None:
    steps, expected = CASES[name]
    record = one_view(steps)
    got = {key: getattr(record, key) for key in expected}
    assert got == expected


IGNORED: dict[str, Steps] = {
    "rebuffer_start while starting is startup": [(0, "play_requested"), (100, "rebuffer_start")],
    "rebuffer_start while paused": [*START, (2000, "paused"), (2100, "rebuffer_start")],
    "rebuffer_start while seeking is seek time": [
        *START,
        (2000, "seek_start"),
        (2100, "rebuffer_start"),
    ],
    "rebuffer_start while rebuffering": [
        *START,
        (2000, "rebuffer_start"),
        (2100, "rebuffer_start"),
    ],
    "rebuffer_end while playing": [*START, (2000, "rebuffer_end")],
    "seek_start before first frame": [(0, "play_requested"), (100, "seek_start")],
    "seek_end while playing": [*START, (2000, "seek_end")],
    "playing before first frame": [(0, "play_requested"), (100, "playing")],
    "paused before first frame": [(0, "play_requested"), (100, "paused")],
    "ended before first frame": [(0, "play_requested"), (100, "ended")],
    "ad_break_end outside an ad": [*START, (2000, "ad_break_end")],
    "a second first_frame": [*START, (2000, "first_frame")],
}


@pytest.mark.parametrize("name", list(IGNORED))
def test_events_the_table_does_not_allow_are_ignored_and_counted(name: str) -> None:
    steps = IGNORED[name]
    record = one_view([*steps, (steps[-1][0] + 1000, "view_end")])
    assert record.ignored_count == 1


def test_repeated_intents_and_reentries_are_not_counted_as_ignored() -> None:
    record = one_view(
        [
            *START,
            (2000, "playing"),
            (2500, "paused"),
            (2600, "paused"),
            (2700, "play_requested"),
            (3000, "playing"),
            (3500, "seek_start"),
            (3600, "seek_start"),
            (3700, "seek_end"),
            (4000, "view_end"),
        ]
    )
    assert record.ignored_count == 0
    assert (record.playing_time_ms, record.paused_time_ms, record.seeking_time_ms) == (
        1800,
        500,
        200,
    )


def test_buffering_at_startup_and_in_seeks_is_not_a_rebuffer() -> None:
    record = one_view(
        [
            (0, "play_requested"),
            (100, "rebuffer_start"),
            (900, "rebuffer_end"),
            (1000, "first_frame"),
            (3000, "seek_start"),
            (3100, "rebuffer_start"),
            (3800, "rebuffer_end"),
            (4000, "seek_end"),
            (5000, "view_end"),
        ]
    )
    assert record.rebuffer_count == 0
    assert record.rebuffering_time_ms == 0
    assert record.startup_time_ms == 1000
    assert record.seeking_time_ms == 1000


def test_bitrate_is_time_weighted_over_playing_time_and_shifts_are_counted() -> None:
    record = one_view(
        [
            (0, "play_requested"),
            (1000, "first_frame", 1000.0),
            (3000, "paused"),
            (9000, "playing"),
            (10_000, "rendition_change", 4000.0),
            (11_000, "heartbeat", 4000.0),
            (12_000, "rendition_change", 2000.0),
            (14_000, "heartbeat", 3000.0),
            (15_000, "view_end"),
        ]
    )
    # playing: 2 s at 1000, 1 s at 1000, 2 s at 4000, 2 s at 2000, 1 s at 3000 (heartbeat)
    assert record.playing_time_ms == 8000
    assert record.avg_bitrate_kbps == pytest.approx((3 * 1000 + 2 * 4000 + 2 * 2000 + 3000) / 8)
    assert (record.upshifts, record.downshifts) == (1, 1)


def test_unknown_bitrate_is_null_and_partial_bitrate_weights_the_known_part() -> None:
    assert (
        one_view([(0, "play_requested"), (10, "first_frame"), (99, "view_end")]).avg_bitrate_kbps
        is None
    )
    record = one_view(
        [(0, "play_requested"), (0, "first_frame"), (4000, "heartbeat", 2500.0), (6000, "view_end")]
    )
    assert record.avg_bitrate_kbps == 2500


def test_fatal_error_details_and_scores_of_a_started_view() -> None:
    record = one_view([*START, (9500, "fatal"), (9600, "view_end")])
    assert record.fatal_error is not None
    assert (record.fatal_error.code, record.fatal_error.ts_ms, record.fatal_error.business) == (
        "E1",
        9500,
        False,
    )
    assert record.startup_score == pytest.approx(800 / 8.5)
    assert record.smoothness_score == 100
    assert record.success_score == 0
    assert record.experience_score == 0


def test_experience_of_a_clean_view() -> None:
    record = one_view([*START, (61_500, "ended"), (61_600, "view_end")])
    assert record.experience_score == pytest.approx((800 / 8.5 + 100) / 2)
