"""Generation: reproducible, valid events, ordered views, batching rules, losses."""

from __future__ import annotations

import itertools
import statistics
from collections import defaultdict

import msgspec
import pytest

from playpipe.dictionary import (
    FirstFrameEvent,
    HeartbeatEvent,
    ViewEndEvent,
    ViewStartEvent,
    convert_event,
    decode_event,
    encode_event,
    encode_events,
)
from playpipe.simulate import Generation, SimOptions, generate
from playpipe.simulate.options import DegradeSpec
from tests.unit.simulate.conftest import Run


def _fingerprint(seed: int, **kwargs: object) -> tuple[bytes, bytes, bytes]:
    gen = generate(30, 600, seed, **kwargs)  # type: ignore[arg-type]
    batches = b"".join(
        msgspec.json.encode([b.send_ms, b.batch_id, b.lost, b.duplicate]) + encode_events(b.events)
        for b in gen
    )
    enc = msgspec.json.Encoder()
    views = b"\n".join(enc.encode(v) for v in gen.views)
    windows = b"\n".join(enc.encode(w) for w in gen.windows())
    return batches, views, windows


def test_same_seed_same_events_and_truth() -> None:
    assert _fingerprint(5) == _fingerprint(5)
    assert _fingerprint(5)[0] != _fingerprint(6)[0]


def test_loss_and_duplicates_do_not_change_the_events() -> None:
    plain = generate(20, 600, 3, duplicate_share=0.0, include_lost=True)
    lossy = generate(20, 600, 3, duplicate_share=0.3, lost_batch_share=0.3, include_lost=True)

    def events_of(gen: Generation) -> list[bytes]:
        return sorted(encode_event(e) for b in gen if not b.duplicate for e in b.events)

    assert events_of(plain) == events_of(lossy)


def test_every_event_validates(run: Run) -> None:
    events = run.events()
    assert len(events) > 10_000
    for event in events:
        wire = encode_event(event)
        assert decode_event(wire) == event
        assert convert_event(msgspec.json.decode(wire)) == event


def test_views_are_ordered_and_well_formed(run: Run) -> None:
    by_view = defaultdict(list)
    for event in run.events():
        by_view[event.view_id].append(event)
    assert len(by_view) == run.gen.stats.views
    for events in by_view.values():
        events.sort(key=lambda e: e.seq)
        assert [e.seq for e in events] == list(range(len(events)))
        assert isinstance(events[0], ViewStartEvent)
        stamps = [e.client_ts for e in events]
        assert stamps == sorted(stamps)
        ends = [i for i, e in enumerate(events) if isinstance(e, ViewEndEvent)]
        assert ends in ([], [len(events) - 1])
        first = events[0]
        for e in events:
            assert (e.viewer_id, e.session_id, e.property) == (
                first.viewer_id,
                first.session_id,
                "demo",
            )
            assert e.player is not None and e.player.name and e.player.integration
            assert e.content is not None and e.content.id and e.content.stream_type
            assert e.network is not None and e.network.cdn and e.network.asn
            assert e.geo is not None and e.geo.country


def test_heartbeats_keep_playing_views_alive(run: Run) -> None:
    """No silence of 10 s while playing, of 25 s while counted concurrent, of 60 s ever."""
    views = {v.view_id: v for v in run.gen.views}
    by_view = defaultdict(list)
    for event in run.events():
        by_view[event.view_id].append(event)
    beats = 0
    for view_id, events in by_view.items():
        events.sort(key=lambda e: e.seq)
        gaps = [b.client_ts - a.client_ts for a, b in itertools.pairwise(events)]
        assert max(gaps, default=0) < 60_000, view_id
        beats += sum(isinstance(e, HeartbeatEvent) for e in events)
        for e in events:
            if isinstance(e, HeartbeatEvent):
                assert e.fluxdata is not None and e.fluxdata.bitrate_kbps
        if views[view_id].started:
            ff = next(e for e in events if isinstance(e, FirstFrameEvent))
            assert ff.fluxdata is not None and ff.fluxdata.bitrate_kbps
    assert beats > 1000


def test_batches_follow_the_sdk_rules(run: Run) -> None:
    options = SimOptions()
    for batch in run.batches:
        assert batch.events
        assert batch.send_ms >= batch.flush_ms
        skew = batch.skew_ms
        times = [e.client_ts - skew for e in batch.events]
        assert max(times) <= batch.flush_ms
        assert batch.flush_ms - min(times) <= options.flush_interval_ms
        if len(batch.events) > options.max_batch_events:
            extra = batch.events[options.max_batch_events - 1 :]
            assert len({e.client_ts for e in extra}) == 1  # only same-instant events overflow
        ends = [i for i, e in enumerate(batch.events) if isinstance(e, ViewEndEvent)]
        assert ends in ([], [len(batch.events) - 1])


def test_batches_come_in_send_order_and_some_out_of_order(run: Run) -> None:
    sends = [b.send_ms for b in run.batches]
    assert sends == sorted(sends)
    overtaken = 0
    last_flush: dict[str, int] = {}
    for b in run.batches:
        if b.duplicate:
            continue
        if b.flush_ms < last_flush.get(b.viewer_id, -1):
            overtaken += 1
        last_flush[b.viewer_id] = max(b.flush_ms, last_flush.get(b.viewer_id, -1))
    assert overtaken > 10
    views = run.gen.views
    assert sum(v.batches_reordered for v in views) >= sum(v.batches_after_end for v in views) > 0
    assert all(v.batches_after_end <= v.batches_reordered for v in views)


def test_lost_and_duplicate_shares(run: Run) -> None:
    stats = run.gen.stats
    assert stats.lost_batches / stats.batches == pytest.approx(0.05, abs=0.01)
    assert stats.duplicate_batches / (stats.batches - stats.lost_batches) == pytest.approx(
        0.05, abs=0.01
    )
    originals = {b.batch_id: b for b in run.batches if not b.duplicate}
    for b in run.batches:
        if b.duplicate:
            first = originals[b.batch_id]
            assert not first.lost and b.events == first.events and b.send_ms > first.send_ms
    flagged = {v.view_id: v for v in run.gen.views}
    lost_views = {e.view_id for b in run.batches if b.lost for e in b.events}
    assert {v for v, t in flagged.items() if not t.complete} == lost_views
    assert sum(t.events_lost for t in flagged.values()) == stats.lost_events


def test_lost_batches_are_left_out_by_default() -> None:
    everything = list(generate(20, 600, 9, lost_batch_share=0.2, include_lost=True))
    delivered = list(generate(20, 600, 9, lost_batch_share=0.2))
    assert [b.batch_id for b in everything if not b.lost] == [b.batch_id for b in delivered]
    assert any(b.lost for b in everything)


def test_viewer_slots_bound_concurrency(run: Run) -> None:
    """About one viewer per slot at any instant (views of a viewer never overlap)."""
    by_viewer = defaultdict(list)
    for v in run.gen.views:
        by_viewer[v.viewer_id].append((v.start_ms, v.end_ms))
    for spans in by_viewer.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    probe = run.gen.start_ms + 900_000
    live = {v.viewer_id for v in run.gen.views if v.start_ms <= probe < v.end_ms}
    assert 0.6 * 150 <= len(live) <= 150


def test_degraded_cdn_gets_worse_from_its_instant() -> None:
    gen = generate(120, 1200, 4, degrade=DegradeSpec("fastly", at_s=600))
    for _ in gen:
        pass
    t = gen.start_ms + 600_000

    def startup(cdn: str, after: bool) -> float:
        values = [
            v.startup_time_ms
            for v in gen.views
            if v.startup_time_ms is not None
            and v.dims["cdn"] == cdn
            and (v.intent_ms is not None and v.intent_ms >= t) == after
        ]
        return statistics.median(values)

    assert startup("fastly", True) > 2.5 * startup("fastly", False)
    assert startup("akamai", True) < 1.5 * startup("akamai", False)


def test_validation_of_arguments() -> None:
    with pytest.raises(ValueError, match="unknown CDN"):
        DegradeSpec("nope", 10)
    with pytest.raises(ValueError, match="CDN@SECONDS"):
        DegradeSpec.parse("fastly")
    assert DegradeSpec.parse("fastly@300") == DegradeSpec("fastly", 300.0)
    with pytest.raises(ValueError, match="view timeout"):
        SimOptions(max_pause_ms=70_000)
    with pytest.raises(ValueError, match="lost_batch_share"):
        generate(1, 10, 1, lost_batch_share=1.5)
    with pytest.raises(ValueError, match="at least 1 viewer"):
        generate(0, 10, 1)
    gen = generate(1, 10, 1)
    iter(gen)
    with pytest.raises(RuntimeError, match="iterated once"):
        iter(gen)
