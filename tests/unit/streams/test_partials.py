"""Partials published per partition do not depend on how far each advance jumps."""

from __future__ import annotations

from playpipe.dictionary import Event
from playpipe.streams.aggregation import Aggregation
from playpipe.streams.partials import Partial, partials_of
from playpipe.streams.rollup import Acc
from tests.unit.streams.scripts import View


def _views() -> list[Event]:
    """A view that plays on, and one that starts playing and falls silent (abandoned)."""
    steady = View("steady").script(
        [(0, "play_requested"), (500, "first_frame", 2000.0)]
        + [(t, "heartbeat") for t in range(10_000, 200_001, 10_000)]
    )
    gone = View("gone").script([(4000, "play_requested"), (8700, "first_frame", 3000.0)])
    return sorted(steady + gone, key=lambda e: e.event_ts or 0)


def _latest(agg: Aggregation, events: list[Event], steps: list[int]) -> dict[bytes, Partial]:
    """The last partial of each window when the watermark is moved to each of ``steps``."""
    latest: dict[bytes, Partial] = {}
    pending = list(events)
    for watermark in steps:
        while pending and (pending[0].event_ts or 0) <= watermark:
            agg.add(pending.pop(0))
        for partial in partials_of(agg, agg.advance(watermark), 0):
            previous = latest.get(partial.key())
            assert previous is None or partial.revision > previous.revision
            latest[partial.key()] = partial
    return latest


def _content(latest: dict[bytes, Partial]) -> dict[bytes, dict[tuple[object, ...], Acc]]:
    """Each window's non-empty accumulators (small steps also publish windows that a
    silent view was counted in, then withdrawn from: all zero, the same as none)."""
    out = {}
    for key, partial in latest.items():
        accs = {tuple(k): a for k, a in partial.accs if a != Acc()}
        if accs:
            out[key] = accs
    return out


def test_a_correction_made_final_in_the_same_advance_is_still_published() -> None:
    """One jump closes the windows, times the silent view out (which withdraws the time it
    was counted playing after its last event) and makes those windows final: the
    correction still goes out, as it does when the watermark moves in small steps."""
    events = _views()
    small = _latest(Aggregation(), events, list(range(0, 400_001, 1000)))
    jump = _latest(Aggregation(), events, [20_000, 400_000])
    assert _content(jump) == _content(small)
    (acc,) = _content(jump)[b"10s|10000"].values()
    # only the steady view plays after "gone"'s last event at 8,700
    assert (acc.concurrent, acc.playing_ms) == (1, 10_000)
