"""Ground truth: consistent with itself, with the events sent, and with the window rules."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import msgspec
import pytest

from playpipe.simulate import (
    OUTCOMES,
    SimOptions,
    ViewTruth,
    generate,
    load_timelines,
    rebase,
    recompute,
    timelines_path,
    view_truth,
    windows_path,
)
from playpipe.simulate.aggregates import nearest_rank, window_label
from tests.unit.simulate.conftest import Run
from tests.unit.simulate.reference import replay

_COMPARED = (
    "start_ms",
    "end_ms",
    "end_reason",
    "intent_ms",
    "first_frame_ms",
    "attempted",
    "started",
    "startup_time_ms",
    "idle_time_ms",
    "startup_state_ms",
    "playing_time_ms",
    "rebuffering_time_ms",
    "paused_time_ms",
    "seeking_time_ms",
    "ad_time_ms",
    "watch_time_ms",
    "rebuffer_count",
    "upshifts",
    "downshifts",
    "outcome",
)


def _close(a: object, b: object) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a == pytest.approx(b, rel=1e-9)
    return a == b


def test_truth_matches_a_replay_of_the_events(run: Run) -> None:
    """The events tell exactly the story of the timelines (times = client_ts - skew)."""
    skew = run.skew_of()
    replayed = replay(run.events(), lambda e: e.client_ts - skew[e.viewer_id or ""])
    assert len(replayed) == len(run.gen.views)
    for truth in run.gen.views:
        got = replayed[truth.view_id].as_truth()
        want = msgspec.structs.asdict(truth)
        for name in (*_COMPARED, "rebuffer_ratio", "avg_bitrate_kbps", "experience_score"):
            assert _close(got[name], want[name]), (truth.view_id, name, got[name], want[name])
        assert replayed[truth.view_id].ignored == 0


def test_truth_is_self_consistent(run: Run) -> None:
    for v in run.gen.views:
        assert v.outcome in OUTCOMES
        assert v.watch_time_ms == (
            v.startup_state_ms + v.playing_time_ms + v.rebuffering_time_ms + v.seeking_time_ms
        )
        total = (
            v.idle_time_ms + v.startup_state_ms + v.playing_time_ms + v.rebuffering_time_ms
        ) + (v.paused_time_ms + v.seeking_time_ms + v.ad_time_ms)
        assert total == v.end_ms - v.start_ms
        if v.started:
            assert v.startup_time_ms == v.startup_state_ms
            assert v.first_frame_ms is not None and v.intent_ms is not None
            assert v.startup_time_ms == v.first_frame_ms - v.intent_ms - v.ad_time_ms
        else:
            assert v.startup_time_ms is None
            assert v.playing_time_ms == v.rebuffering_time_ms == v.rebuffer_count == 0
        # A rebuffer may have no time: the page died right after announcing it.
        assert v.rebuffer_count > 0 or v.rebuffering_time_ms == 0
        assert v.attempted == (v.outcome != "no_attempt")
        if v.end_reason == "timeout":
            assert v.outcome in ("abandoned", "exit_before_start", "no_attempt")
        if v.fatal_error is not None:
            assert v.end_reason == "error" and v.end_ms == v.fatal_error.at_ms
        if v.outcome == "ended":
            assert v.end_reason == "ended" and v.dims["stream_type"] == "vod"
        if v.experience_score is not None:
            assert 0 <= v.experience_score <= 100


def test_rebuffers_never_before_the_first_frame(run: Run) -> None:
    for tl in run.gen.timelines:
        if tl.rebuffers:
            assert tl.first_frame is not None
            assert all(t > tl.first_frame[0] for t, _ in tl.rebuffers)


def test_every_outcome_and_end_reason_occurs(run: Run) -> None:
    outcomes = Counter(v.outcome for v in run.gen.views)
    assert set(outcomes) == set(OUTCOMES), outcomes
    reasons = Counter(v.end_reason for v in run.gen.views)
    assert set(reasons) == {"ended", "aborted", "error", "timeout"}
    assert sum(v.ad_time_ms > 0 for v in run.gen.views) > 20
    assert sum(v.seeking_time_ms > 0 for v in run.gen.views) > 5
    assert sum(v.paused_time_ms > 0 for v in run.gen.views) > 20
    assert sum(v.upshifts + v.downshifts > 0 for v in run.gen.views) > 50
    assert {v.dims["stream_type"] for v in run.gen.views} == {"vod", "live"}
    assert len({v.dims["device_type"] for v in run.gen.views}) == 5


_ADDITIVE = {
    "attempts": "attempts",
    "starts": "starts",
    "playing_time_ms": "playing_time_ms",
    "rebuffering_time_ms": "rebuffering_time_ms",
    "watch_time_ms": "watch_time_ms",
    "rebuffer_count": "rebuffer_count",
    "start_failures": "start_failure",
    "exits_before_start": "exit_before_start",
    "playback_failures": "playback_failure",
    "views_ended": "views",
}


def _view_totals(run: Run) -> dict[str, int]:
    views = run.gen.views
    outcomes = Counter(v.outcome for v in views)
    return {
        "attempts": sum(v.attempted for v in views),
        "starts": sum(v.started for v in views),
        "playing_time_ms": sum(v.playing_time_ms for v in views),
        "rebuffering_time_ms": sum(v.rebuffering_time_ms for v in views),
        "watch_time_ms": sum(v.watch_time_ms for v in views),
        "rebuffer_count": sum(v.rebuffer_count for v in views),
        "start_failures": outcomes["start_failure"],
        "exits_before_start": outcomes["exit_before_start"],
        "playback_failures": outcomes["playback_failure"],
        "views_ended": len(views),
    }


def test_windows_add_up_to_the_views(run: Run) -> None:
    windows = run.windows()
    totals = _view_totals(run)
    options = SimOptions()
    for size in options.windows_ms:
        for dims in options.dimension_sets:
            records = [w for w in windows if w.window_ms == size and tuple(w.dimensions) == dims]
            assert records
            for metric in _ADDITIVE:
                assert sum(getattr(w, metric) for w in records) == totals[metric], (size, dims)
            assert all(w.start_ms % size == 0 and w.end_ms == w.start_ms + size for w in records)


def test_window_metrics_follow_their_definitions(run: Run) -> None:
    by_cdn: dict[tuple[int, int], list[object]] = defaultdict(list)
    for w in run.windows():
        if w.dimensions == ["cdn"]:
            by_cdn[(w.window_ms, w.start_ms)].append(w)
        assert w.window == window_label(w.window_ms)
        if w.attempts:
            assert w.start_failure_pct == pytest.approx(100 * w.start_failures / w.attempts)
        else:
            assert w.start_failure_pct is None and w.exit_before_start_pct is None
        if w.starts:
            assert w.startup_time_p50_ms is not None and w.startup_time_p95_ms is not None
            assert w.startup_time_p50_ms <= w.startup_time_p90_ms <= w.startup_time_p95_ms  # type: ignore[operator]
        assert w.playback_failures <= w.starts_active
        assert w.concurrent_viewers <= len({v.view_id for v in run.gen.views})
        played = w.playing_time_ms + w.rebuffering_time_ms
        assert (w.rebuffer_ratio is None) == (played == 0)
        assert (w.avg_bitrate_kbps is None) == (w.playing_time_ms == 0)
    assert by_cdn


def test_concurrency_counts_distinct_views(run: Run) -> None:
    """The global 60 s concurrency equals a direct count over the timelines."""
    size = 60_000
    windows = {
        w.start_ms: w.concurrent_viewers
        for w in run.windows()
        if w.window_ms == size and w.dimensions == []
    }
    probe = sorted(windows)[len(windows) // 2]
    counted = 0
    for tl, truth in zip(run.gen.timelines, run.gen.views, strict=True):
        changes = tl.changes
        for i, (t, state, _) in enumerate(changes):
            stop = changes[i + 1][0] if i + 1 < len(changes) else truth.end_ms
            stop = min(stop, truth.end_ms)
            if (
                state in ("startup", "playing", "rebuffering")
                and t < probe + size
                and stop > probe
                and stop > t
            ):
                counted += 1
                break
    assert windows[probe] == counted


def test_nearest_rank_and_labels() -> None:
    assert nearest_rank([], 50) is None
    assert nearest_rank([5], 95) == 5
    values = list(range(1, 101))
    assert (nearest_rank(values, 50), nearest_rank(values, 90), nearest_rank(values, 95)) == (
        50,
        90,
        95,
    )
    assert nearest_rank([1, 2, 3, 4], 50) == 2
    assert (window_label(10_000), window_label(60_000), window_label(1_500)) == (
        "10s",
        "1m",
        "1500ms",
    )


def test_rebase_moves_every_instant_to_its_observed_time(run: Run) -> None:
    """With each batch shifted by its own transit, rebased truth equals a replay."""
    skew = run.skew_of()
    transit = {b.batch_id: (hash(b.batch_id) % 7) for b in run.batches if not b.duplicate}
    observed = {
        e.event_id: e.client_ts - b.skew_ms + transit[b.batch_id]
        for b in run.batches
        if not b.duplicate
        for e in b.events
    }
    replayed = replay(run.events(), lambda e: observed[e.event_id])
    for tl in run.gen.timelines[:300]:
        moved = view_truth(rebase(tl, observed))
        got = replayed[tl.view_id].as_truth()
        for name in _COMPARED:
            assert got[name] == getattr(moved, name), (tl.view_id, name)
    del skew


def test_truth_files_round_trip(tmp_path: Path) -> None:
    gen = generate(10, 300, 1)
    for _ in gen:
        pass
    files = gen.write_truth(tmp_path / "truth.jsonl")
    assert files.windows == windows_path(files.views) == tmp_path / "truth.jsonl.windows.jsonl"
    assert files.timelines == timelines_path(files.views)
    lines = files.views.read_bytes().splitlines()
    assert [msgspec.json.decode(line, type=ViewTruth) for line in lines] == gen.views
    first = msgspec.json.decode(lines[0])
    assert {"view_id", "dims", "startup_time_ms", "outcome", "complete"} <= set(first)
    windows = [msgspec.json.decode(line) for line in files.windows.read_bytes().splitlines()]
    assert {w["window"] for w in windows} == {"10s", "1m"}
    timelines = load_timelines(files.views)
    assert timelines == gen.timelines
    assert recompute(timelines) == (gen.views, gen.windows())
