"""A crash after a checkpoint and a replay that jumps further change no merged window.

The crashed run published windows after its last checkpoint; the restarted one replays
from that checkpoint in bigger jumps, which can publish a window fewer times (or, for a
window only a silent view was counted in, never create it). Its partials must still
replace the crashed run's: it reads back what was published and continues above it.
"""

from __future__ import annotations

from typing import Any

import msgspec

from playpipe.config import Config
from playpipe.dictionary import Event
from playpipe.streams import changelog
from playpipe.streams.aggregation import Aggregation
from playpipe.streams.aggsettings import AggregationSettings
from playpipe.streams.merger import WindowMerger
from playpipe.streams.partials import Partial, encoder, partials_of
from tests.unit.streams.scripts import View
from tests.unit.streams.test_merger import FakeMessage

SETTINGS = AggregationSettings(dimension_sets=[["cdn"]])


def _steady() -> list[Event]:
    return View("steady").script(
        [(0, "play_requested"), (500, "first_frame", 2000.0)]
        + [(t, "heartbeat") for t in range(10_000, 200_001, 10_000)]
    )


def _gone() -> list[Event]:
    """Starts playing and falls silent at 8,700 (abandoned): it is counted as playing
    after that until it times out, 60 s later, which withdraws that time again."""
    return View("gone").script([(4000, "play_requested"), (8700, "first_frame", 3000.0)])


class Run:
    """One partition's aggregation driven by watermark steps, publishing its partials."""

    def __init__(self, events: list[Event], agg: Aggregation | None = None) -> None:
        self.agg = agg if agg is not None else Aggregation(SETTINGS)
        self.pending = sorted(events, key=lambda e: e.event_ts or 0)
        self.published: list[Partial] = []

    def to(self, *steps: int) -> Run:
        for watermark in steps:
            while self.pending and (self.pending[0].event_ts or 0) <= watermark:
                self.agg.add(self.pending.pop(0))
            self.published += partials_of(self.agg, self.agg.advance(watermark), 0)
        return self

    def checkpoint(self) -> dict[bytes, bytes]:
        """The changelog's last values, as a restore would read them."""
        latest: dict[bytes, bytes] = {}
        for out in changelog.checkpoint(self.agg, "state", 0, 1):
            if out.value is None:
                latest.pop(out.key, None)
            else:
                latest[out.key] = out.value
        return latest


def merged(*runs: list[Partial]) -> dict[str, dict[str, Any]]:
    """The last merged result of every window key, partials read in publication order."""
    merger = WindowMerger(Config(), SETTINGS, idle_s=60.0, clock=lambda: 0.0)
    final: dict[str, dict[str, Any]] = {}
    offset = 0
    for partials in runs:
        for p in partials:
            offset += 1
            for out in merger.process([FakeMessage(encoder.encode(p), 0, offset)]):
                record = msgspec.json.decode(out.value)
                record.pop("revision")
                final[out.key.decode()] = record
    return final


def crash_and_restart(events: list[Event], read_back: bool) -> dict[str, dict[str, Any]]:
    crashed = Run(events).to(*range(0, 9_001, 1000))
    saved = crashed.checkpoint()
    # Runs on in small steps after its checkpoint: closes 10s|10000 and the next windows
    # with "gone" counted as playing (it has not timed out yet), then is killed.
    crashed.published.clear()
    crashed.to(*range(10_000, 50_001, 1000))
    agg, _ = changelog.rebuild(SETTINGS, saved)
    if read_back:
        seen: dict[tuple[str, int], int] = {}
        for p in crashed.published:
            seen[(p.window, p.start_ms)] = max(seen.get((p.window, p.start_ms), -1), p.revision)
        agg.owe(seen)
    restarted = Run([e for e in events if (e.event_ts or 0) > 9_000], agg).to(400_000)
    return merged(crashed.published, restarted.published)


def uninterrupted(events: list[Event]) -> dict[str, dict[str, Any]]:
    return merged(Run(events).to(*range(0, 400_001, 1000)).published)


COUNTED = ("attempts", "starts", "concurrent_viewers", "playing_time_ms", "watch_time_ms")


def nonzero(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Without the windows that hold nothing (small steps publish windows a silent view was
    counted in, then withdrawn from: all zero, the same as none)."""
    return {key: r for key, r in results.items() if any(r[name] for name in COUNTED)}


def test_the_restarted_runs_windows_replace_the_crashed_runs() -> None:
    events = _steady() + _gone()
    got = crash_and_restart(events, read_back=True)
    assert nonzero(got) == nonzero(uninterrupted(events))


def test_without_reading_back_the_crashed_runs_window_would_stay() -> None:
    """What the test above guards against: the replay publishes 10s|10000 once, with the
    revision the crashed run had already used, so the merger keeps the crashed run's."""
    events = _steady() + _gone()
    got = crash_and_restart(events, read_back=False)
    truth = uninterrupted(events)
    key = "10s|10000|cdn=akamai"
    assert truth[key]["concurrent_viewers"] == 1
    assert got[key]["concurrent_viewers"] == 2


def test_a_window_the_restarted_run_never_creates_is_published_empty() -> None:
    """Only "gone": the windows after its last event held nothing but the time it was
    counted playing before it timed out; the replay times it out at once and never
    creates them. They are published empty, so the merged windows come back to zero."""
    events = _gone()
    got = crash_and_restart(events, read_back=True)
    assert nonzero(got) == nonzero(uninterrupted(events))
    assert got["10s|20000|cdn=akamai"]["concurrent_viewers"] == 0
    assert got["10s|20000|cdn=akamai"]["playing_time_ms"] == 0
