"""The Mux beacon format: a recorded mux-embed play through the collector, and bad input."""

from __future__ import annotations

import json

import pytest

from playpipe.dictionary import FirstFrameEvent, PlayRequestedEvent, ViewEndEvent
from playpipe.sources import MappingError
from playpipe.sources.mux import MuxFormat
from playpipe.sources.muxkeys import expand_key
from tests.unit.collector.harness import INVALID, client, make_app
from tests.unit.sources.recorded_play import collect, kinds, load, mapped

PLAY = load("mux-embed-5.19.0.json")["plays"]["ok"]


def browser(kind: str) -> int:
    return next(int(e["t"]) for e in PLAY["media"]["events"] if e["type"] == kind)


def test_keys_expand_back_to_mux_field_names() -> None:
    assert expand_key("pphti") == "player_playhead_time"
    assert expand_key("xsqno") == "view_sequence_number"
    assert expand_key("c10") == "custom_10"
    assert expand_key("e") == "event"
    assert expand_key("x_foo_co") == "view_foo_count"  # a word without a code, sent whole
    assert expand_key("zzz") is None


def test_a_recorded_play_maps_to_the_view_the_browser_saw() -> None:
    records, statuses = collect(PLAY["requests"])
    assert set(statuses) == {200}
    assert all(r.key == records[0].key for r in records), "one view, one key"
    events = mapped(MuxFormat(), records)
    story = [k for k in kinds(events) if k not in ("SegmentResponse", "Custom")]
    assert story == [
        "PlayerReady",
        "RenditionChange",
        "ViewStart",
        "RenditionChange",
        "PlayRequested",
        "FirstFrame",
        "Playing",
        "RenditionChange",
        "RenditionChange",
        "Paused",
        "Ended",
        "ViewEnd",
    ]
    first = next(e for e in events if isinstance(e, FirstFrameEvent))
    play = next(e for e in events if isinstance(e, PlayRequestedEvent))
    assert abs(first.client_ts - browser("playing")) <= 5
    assert 0 <= play.client_ts - PLAY["media"]["click"] < 100
    end = events[-1]
    assert isinstance(end, ViewEndEvent) and end.reason == "ended"
    # deltas merged: the title was sent once, at viewstart, and is on every later event
    assert all(e.content and e.content.title == "Test clip" for e in events[-8:])
    renditions = [
        e.fluxdata and e.fluxdata.bitrate_kbps for e in events if kinds([e]) == ["RenditionChange"]
    ]
    assert renditions == [165.0, 165.0, 330.0, 660.0]
    assert {e.source for e in events} == {"mux"} and end.property == "demo"
    assert end.custom == {
        "custom_1": "exp-a",
        "mux_player_name": "test-page",
        "mux_viewer_connection_type": "unknown",
    }
    seqs = [e.seq for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_a_batch_sent_twice_maps_once_and_ids_are_deterministic() -> None:
    records, _ = collect(PLAY["requests"])
    fmt = MuxFormat()
    first = mapped(fmt, records)
    assert mapped(fmt, records[-5:]) == [], "copies are dropped by view and sequence number"
    again = mapped(MuxFormat(), records)  # a replay with a fresh mapper
    assert [e.event_id for e in again] == [e.event_id for e in first]
    assert len({e.event_id for e in first}) == len(first)


def test_view_state_is_bounded() -> None:
    fmt = MuxFormat(max_views=3)
    for n in range(5):
        event = {"xid": f"v{n}", "e": "viewstart", "xsqno": 1, "uti": 1_700_000_000_000}
        fmt.map(json.dumps({"events": [event]}).encode(), {})
    assert len(fmt.views) == 3


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"e": "play", "xsqno": 1, "uti": 1}, "$.events[0].xid"),
        ({"xid": "v", "xsqno": 1, "uti": 1}, "$.events[0].e"),
        ({"xid": "v", "e": "play", "uti": 1}, "$.events[0].xsqno"),
        ({"xid": "v", "e": "play", "xsqno": "x", "uti": 1}, "$.events[0].xsqno"),
        ({"xid": "v", "e": "play", "xsqno": 1}, "$.events[0].uti"),
        ({"xid": "v", "e": "play", "xsqno": 1, "uti": -5}, "$.events[0].uti"),
        ("not an object", "$.events[0]"),
    ],
)
def test_a_bad_event_is_rejected_with_the_field(event: object, field: str) -> None:
    with pytest.raises(MappingError) as caught:
        MuxFormat().map(json.dumps({"events": [event]}).encode(), {})
    assert caught.value.field == field and caught.value.reason


@pytest.mark.parametrize(
    "value",
    [b"", b"{", b"[]", b'{"events": 3}', b"\xff\xfe", b"[" * 100_000, b'{"events": [' * 5000],
)
def test_malformed_records_are_mapping_errors(value: bytes) -> None:
    with pytest.raises(MappingError):
        MuxFormat().map(value, {})


def test_hostile_values_are_dropped_not_fatal() -> None:
    event = {
        "xid": "v",
        "e": "renditionchange",
        "xsqno": 2,
        "uti": 1_700_000_000_000,
        "vsobi": -1,
        "vsowd": 10**12,
        "pphti": "NaN",
        "vtt": "x" * 10_000,
        "c1": {"nested": True},
        "??": 1,
    }
    [out] = MuxFormat().map(json.dumps({"events": [event]}).encode(), {})
    assert out.fluxdata is None or out.fluxdata.bitrate_kbps is None
    assert out.content is not None and len(out.content.title or "") == 256


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "status"),
    [(b"not json", 400), (b'{"events": 3}', 400), (b"[" * 100_000, 400), (b"", 400)],
)
async def test_the_collector_refuses_a_broken_batch_with_its_reason(
    body: bytes, status: int
) -> None:
    app, sink = make_app()
    async with client(app) as http:
        answer = await http.post("/", content=body, headers={"content-type": "text/plain"})
    assert answer.status_code == status
    if status == 400:
        assert "Mux beacon batch" in answer.json()["error"] or "empty body" in answer.text
        [kept] = sink.on(INVALID)
        assert kept.value == body[: len(kept.value)]


@pytest.mark.parametrize(
    "name",
    [
        "viewstart", "playerready", "play", "playing", "pause", "seeking", "seeked",
        "rebufferstart", "rebufferend", "renditionchange", "error", "ended", "viewend", "hb",
        "requestcompleted", "requestfailed", "requestcanceled", "cdnchange", "adbreakstart",
        "adbreakend", "adplay", "adplaying", "adfirstquartile", "admidpoint", "adthirdquartile",
        "adended", "adskipped", "adclicked", "aderror", "videochange", "something-new",
    ],
)  # fmt: skip
def test_every_event_maps_to_valid_events(name: str) -> None:
    fmt = MuxFormat()
    base = {"xid": "v", "uti": 1_700_000_000_000, "vdn": "fastly", "qty": "video", "qst": 1}
    fmt.map(json.dumps({"events": [{**base, "e": "play", "xsqno": 1}]}).encode(), {})
    event = {**base, "e": name, "xsqno": 2, "perco": "E1", "qrpen": 50}
    assert fmt.map(json.dumps({"events": [event]}).encode(), {}) or name == "play"
