"""CMCD reports mapped onto dictionary events (no Kafka)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from playpipe.dictionary import Event, encode_event
from playpipe.sources.cmcd import CmcdFormat, CmcdRequestFormat
from playpipe.sources.registry import MappingError

T0 = 1_795_668_000_000
HEADERS = {
    "playpipe.format": b"cmcd",
    "playpipe.received_at": str(T0 + 60_000).encode(),
    "playpipe.client_ip": b"81.2.69.0",
    "playpipe.property": b"acme",
    "playpipe.context": b'{"device":{"type":"desktop","browser":"Chrome"}}',
}


def line(sn: int, e: str, sid: str = "s-1", **keys: Any) -> bytes:
    parts = [f'sid="{sid}"', f"sn={sn}", f"e={e}", f"ts={T0 + sn * 100}", "v=2"]
    parts += [f"{k}={v}" for k, v in keys.items()]
    return ",".join(parts).encode()


def as_dicts(events: list[Event]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [msgspec.json.decode(encode_event(e)) for e in events]
    return out


def run(fmt: CmcdFormat, *lines: bytes) -> list[dict[str, Any]]:
    return [d for raw in lines for d in as_dicts(fmt.map(raw, HEADERS))]


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [e["event_type"] for e in events]


def test_a_play_through_as_hls_js_reports_it() -> None:
    events = run(
        CmcdFormat(),
        line(0, "t", sta="d", cid='"bbb"', st="v", sf="h"),
        line(1, "ps", sta="s"),
        line(2, "bc", sta="s", br="(330)"),
        line(3, "ps", sta="p", br="(330)", bl="(4000)", mtp="(25400)", pt=0),
        line(4, "bc", sta="p", br="(660)"),
        line(5, "t", sta="p", br="(660)", pt=4000, dfa=2),
        line(6, "ps", sta="e", br="(660)"),
        line(7, "t", sta="e", br="(660)"),
    )
    assert kinds(events) == [
        "view_start",
        "heartbeat",
        "play_requested",
        "rendition_change",
        "first_frame",
        "rendition_change",
        "heartbeat",
        "ended",
        "view_end",
    ]
    assert events[0]["content"] == {"id": "bbb", "stream_type": "vod"}
    assert events[0]["custom"] == {"cmcd_sf": "h", "cmcd_st": "v"}
    first = events[4]
    assert first["fluxdata"] == {
        "playhead_ms": 0,
        "bitrate_kbps": 330.0,
        "buffer_ms": 4000,
        "throughput_kbps": 25400.0,
    }
    assert events[6]["fluxdata"]["dropped_frames"] == 2
    assert events[-1]["reason"] == "ended"
    for e in events:
        assert e["source"] == "cmcd" and e["view_id"] == "s-1" and e["property"] == "acme"
        assert e["received_at"] == T0 + 60_000 and e["event_ts"] == e["client_ts"]
        assert e["device"] == {"type": "desktop", "browser": "Chrome"}
        assert e["network"] == {"ip": "81.2.69.0"}
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_dash_js_bitrate_changes_without_bc_become_rendition_changes() -> None:
    events = run(
        CmcdFormat(),
        line(0, "ps", sta="s"),
        line(1, "ps", sta="p", br="(300;v)", pb="(300;v)"),
        line(2, "t", sta="p", br="(600;v)", pb="(600;v)"),
        line(3, "t", sta="p", br="(600;v)", pb="(600;v)"),
    )
    assert kinds(events) == [
        "view_start",
        "play_requested",
        "first_frame",
        "rendition_change",
        "heartbeat",
        "heartbeat",
    ]
    assert events[3]["fluxdata"]["bitrate_kbps"] == 600


def test_rebuffer_seek_and_pause_transitions() -> None:
    events = run(
        CmcdFormat(),
        line(0, "ps", sta="s"),
        line(1, "ps", sta="p"),
        line(2, "ps", sta="r"),
        line(3, "ps", sta="p"),
        line(4, "ps", sta="k"),
        line(5, "ps", sta="r"),  # buffering during the seek: seek time, not a rebuffer
        line(6, "ps", sta="p"),
        line(7, "ps", sta="a"),
        line(8, "ps", sta="p"),
        line(9, "ps", sta="k"),
        line(10, "ps", sta="a"),  # seeked while paused
        line(11, "ps", sta="q"),
    )
    assert kinds(events)[1:] == [
        "play_requested",
        "first_frame",
        "rebuffer_start",
        "rebuffer_end",
        "seek_start",
        "heartbeat",
        "seek_end",
        "paused",
        "playing",
        "seek_start",
        "seek_end",
        "paused",
        "view_end",
    ]
    assert events[-1]["reason"] == "aborted"


def test_errors_fatal_and_warning() -> None:
    fmt = CmcdFormat()
    warning = run(fmt, line(0, "e", sta="p", ec='("bufferStalledError")'))
    assert warning[1]["error"] == {"code": "bufferStalledError", "severity": "warning"}
    # hls.js: the state report (no ec) first, then the error report with its code
    fatal = run(fmt, line(1, "ps", sta="f"), line(2, "e", sta="f", ec='("fragLoadError" "x")'))
    assert kinds(fatal) == ["heartbeat", "error", "view_end"]
    assert fatal[1]["error"] == {"code": "fragLoadError,x", "severity": "fatal"}
    assert fatal[2]["reason"] == "error"
    assert run(fmt, line(3, "t", sta="f"), line(4, "e", sta="f")) == []
    # a fatal state whose error report never comes: the next report ends the view
    other = CmcdFormat()
    late = run(other, line(1, "ps", sid="s-9", sta="f"), line(2, "t", sid="s-9", sta="f"))
    assert kinds(late) == ["heartbeat", "error", "view_end"]
    assert late[1]["error"]["code"] == "cmcd_fatal_error"


def test_response_received_is_a_segment_response() -> None:
    [event] = run(
        CmcdFormat(),
        line(3, "rr", sta="p", ot="v", rc=200, ttfb=12, ttlb=40, br="(660)", url='"http://c/s.ts"'),
    )
    assert event["event_type"] == "segment_response"
    assert event["segment"] == {
        "kind": "video",
        "url": "http://c/s.ts",
        "status": 200,
        "ttfb_ms": 12,
        "duration_ms": 40,
        "bitrate_kbps": 660.0,
    }
    assert event["client_ts"] == T0 + 300 + 40
    assert "bitrate_kbps" not in event.get("fluxdata", {})


@pytest.mark.parametrize(
    ("kind", "extra", "event_type"),
    [
        ("m", {}, "volume_change"),
        ("um", {}, "volume_change"),
        ("pr", {"pr": "1.5"}, "rate_change"),
        ("h", {"h": '"cdn2.example"'}, "cdn_change"),
        ("as", {}, "ad_start"),
        ("ae", {}, "ad_end"),
        ("abs", {}, "ad_break_start"),
        ("abe", {}, "ad_break_end"),
        ("sk", {}, "ad_skip"),
        ("ce", {"cen": '"share"'}, "custom"),
        ("c", {"cid": '"other"'}, "custom"),
        ("b", {"bg": "?1"}, "custom"),
        ("pe", {}, "custom"),
        ("zz", {}, "custom"),
    ],
)
def test_other_event_types(kind: str, extra: dict[str, str], event_type: str) -> None:
    [event] = run(CmcdFormat(), line(5, kind, sta="p", **extra))
    assert event["event_type"] == event_type
    if kind in ("m", "um"):
        assert event["fluxdata"]["muted"] is (kind == "m")
    if kind == "ce":
        assert event["name"] == "share"
    if kind == "zz":
        assert event["name"] == "cmcd_zz"


def test_a_report_delivered_twice_maps_to_the_same_ids() -> None:
    raw = line(4, "t", sta="p")
    first, second = CmcdFormat().map(raw, HEADERS), CmcdFormat().map(raw, HEADERS)
    assert [e.event_id for e in first] == [e.event_id for e in second]
    other_view = CmcdFormat().map(line(4, "t", sid="s-2", sta="p"), HEADERS)
    assert other_view[0].event_id != first[0].event_id


def test_json_report_and_custom_keys() -> None:
    raw = (
        b'{"e":"t","sid":"j-1","sn":3,"ts":1795668000300,"sta":"p","br":[700],'
        b'"com.x-y":"z","cs":"sig"}'
    )
    [event] = as_dicts(CmcdFormat().map(raw, HEADERS))
    assert event["event_type"] == "heartbeat" and event["fluxdata"]["bitrate_kbps"] == 700
    assert event["custom"] == {"cmcd_cs": "sig", "com.x-y": "z"}


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        (b"e=t,sn=1,ts=5", "$.sid", "sid is required"),
        (b'e=t,sid="a",sn=1', "$.ts", "ts is required"),
        (b'sid="a",sn=1,ts=5', "$.e", "e (the event type) is required"),
        (b'e=ps,sid="a",sn=1,ts=5', "$.sta", "needs sta"),
        (b'e=rr,sid="a",sn=1,ts=5', "$.url", "needs url"),
        (b'e=h,sid="a",sn=1,ts=5', "$.h", "needs h"),
        (b'e=t,sid="a",sn=x', "$.sn", "sn must be a number"),
        (b'e=t,sid="a",sn=1,ts=5,br=(1', "$.br", "not closed"),
        (b"\xff\xfe", "$", "not UTF-8"),
        (b'{"e":"t",', "$", "not a JSON CMCD report"),
        (b"[1]", "$", "expected a key"),
    ],
)
def test_malformed_reports_are_rejected_with_a_reason(raw: bytes, field: str, words: str) -> None:
    with pytest.raises(MappingError) as caught:
        CmcdFormat().map(raw, HEADERS)
    assert caught.value.field == field
    assert words in caught.value.reason


def test_request_mode_from_query_and_headers() -> None:
    fmt = CmcdRequestFormat()
    query = b"CMCD=br%3D(300)%2Cot%3Dv%2Csid%3D%22r-1%22%2Csn%3D0%2Csta%3Ds&x=1"
    events = as_dicts(fmt.map(query, {**HEADERS, "playpipe.format": b"cmcd_request"}))
    assert kinds(events) == ["view_start", "play_requested"]
    assert events[1]["client_ts"] == T0 + 60_000  # no ts in request mode: receive time
    headers = {
        **HEADERS,
        "playpipe.http.cmcd-session": b'sid="r-1",sf=h',
        "playpipe.http.cmcd-request": b"sn=1",
        "playpipe.http.cmcd-status": b"sta=p",
        "playpipe.http.cmcd-object": b"br=(600),ot=v",
    }
    events = as_dicts(fmt.map(b"", headers))
    assert kinds(events) == ["rendition_change", "first_frame"]
    [line_event] = as_dicts(
        fmt.map(b"https://cdn/seg.ts?CMCD=sid%3D%22r-1%22%2Csn%3D2%2Csta%3Dp", HEADERS)
    )
    assert line_event["event_type"] == "heartbeat"
    with pytest.raises(MappingError, match="no CMCD data"):
        fmt.map(b"https://cdn/seg.ts", HEADERS)


def test_request_mode_v1_without_sequence_numbers_gets_stable_ids() -> None:
    raw = b'br=3200,sid="v1-a",su'
    first = CmcdRequestFormat().map(raw, HEADERS)
    second = CmcdRequestFormat().map(raw, HEADERS)
    assert [e.event_id for e in first] == [e.event_id for e in second]
    assert first[0].custom == {"cmcd_su": True}


def test_a_state_report_retried_after_later_ones_does_not_move_the_view_back() -> None:
    events = run(
        CmcdFormat(),
        line(0, "ps", sta="s"),
        line(1, "ps", sta="p"),
        line(3, "ps", sta="p"),  # sn 2 (sta=r) was refused with 503 and comes back later
        line(2, "ps", sta="r"),
        line(4, "ps", sta="a"),
    )
    assert kinds(events)[1:] == [
        "play_requested",
        "first_frame",
        "heartbeat",
        "heartbeat",
        "paused",
    ]
