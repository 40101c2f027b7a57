"""EPAS: a recorded EPAS web SDK play, the playhead unit, bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from playpipe.dictionary import ErrorEvent, FirstFrameEvent, PlayRequestedEvent, ViewEndEvent
from playpipe.sources import MappingError
from playpipe.sources.epas import EpasFormat
from tests.unit.collector.harness import client, make_app
from tests.unit.sources.recorded_play import collect, kinds, load, mapped

PLAY = load("epas-web-0.2.0.json")["plays"]["ok"]


def test_a_recorded_play_maps_with_the_playhead_in_seconds() -> None:
    records, statuses = collect(PLAY["requests"])
    assert set(statuses) == {200}
    assert all(r.key and r.key.startswith(b"sess-") for r in records)
    events = mapped(EpasFormat(), records)
    assert kinds(events) == [
        "ViewStart",
        "PlayRequested",
        "RenditionChange",
        "Custom",
        "FirstFrame",
        "Playing",
        "RenditionChange",
        "RenditionChange",
        "Heartbeat",
        "Ended",
        "ViewEnd",
    ], "the second stopped (reportStop after the end) is dropped"
    playing = next(int(e["t"]) for e in PLAY["media"]["events"] if e["type"] == "playing")
    first = next(e for e in events if isinstance(e, FirstFrameEvent))
    assert abs(first.client_ts - playing) <= 50
    assert first.fluxdata and first.fluxdata.playhead_ms == 50  # 0.0499 s
    assert events[-1].content and events[-1].content.duration_ms == 8083
    bitrates = [
        e.fluxdata and e.fluxdata.bitrate_kbps for e in events if kinds([e]) == ["RenditionChange"]
    ]
    assert bitrates == [165.0, 330.0, 660.0]


def _event(name: str, ts: int, playhead: float, duration: float, **extra: Any) -> bytes:
    body = {"event": name, "sessionId": "s", "timestamp": ts, "playhead": playhead}
    return json.dumps({**body, "duration": duration, **extra}).encode()


def test_a_spec_client_in_milliseconds() -> None:
    fmt = EpasFormat()
    fmt.map(_event("init", 1_700_000_000_000, -1, -1), {})
    [request] = fmt.map(_event("loading", 1_700_000_000_100, 0, 596_000), {})
    assert isinstance(request, PlayRequestedEvent)
    first, _ = fmt.map(_event("playing", 1_700_000_001_000, 1500, 596_000), {})
    assert first.fluxdata and first.fluxdata.playhead_ms == 1500
    assert first.content and first.content.duration_ms == 596_000


@pytest.mark.parametrize(
    ("headers", "playhead_ms"),
    [
        ({"playpipe.query": b"playhead_unit=ms"}, 12),
        ({"playpipe.query": b"playhead_unit=s"}, 12_000),
        ({"playpipe.http.x-epas-version": b"0.3.1"}, 12_000),
        ({}, 12),  # an integer playhead, no duration yet: the spec's milliseconds
    ],
)
def test_the_unit_is_decided_per_session(headers: dict[str, bytes], playhead_ms: int) -> None:
    [beat] = EpasFormat().map(_event("heartbeat", 1_700_000_000_000, 12, -1), headers)
    assert beat.fluxdata and beat.fluxdata.playhead_ms == playhead_ms


def test_seconds_are_told_by_a_fraction_or_a_short_duration() -> None:
    [a] = EpasFormat().map(_event("heartbeat", 1_700_000_000_000, 1.5, -1), {})
    [b] = EpasFormat().map(_event("heartbeat", 1_700_000_000_000, 3, 20), {})
    assert a.fluxdata and a.fluxdata.playhead_ms == 1500
    assert b.fluxdata and b.fluxdata.playhead_ms == 3000


def test_buffering_before_first_frame_is_not_a_rebuffer() -> None:
    fmt = EpasFormat()
    ts = 1_700_000_000_000
    names = []
    story = ["init", "loading", "buffering", "buffered", "playing", "buffering", "buffered"]
    for n, name in enumerate(story):
        names += kinds(fmt.map(_event(name, ts + n, 0.5, 8.0), {}))
    assert names == [
        "ViewStart",
        "PlayRequested",
        "Custom",
        "Custom",
        "FirstFrame",
        "Playing",
        "RebufferStart",
        "RebufferEnd",
    ]


def test_errors_and_warnings() -> None:
    fmt = EpasFormat()
    payload = {"code": "404", "message": "segment", "category": "NETWORK"}
    [warning] = fmt.map(_event("warning", 1_700_000_000_000, 1.5, 8.0, payload=payload), {})
    [error] = fmt.map(_event("error", 1_700_000_000_001, 1.5, 8.0, payload=payload), {})
    [end] = fmt.map(_event("stopped", 1_700_000_000_002, 1.5, 8.0, payload={"reason": "error"}), {})
    assert isinstance(warning, ErrorEvent) and warning.error.severity == "warning"
    assert isinstance(error, ErrorEvent) and error.error.severity == "fatal"
    assert error.error.context == "NETWORK"
    assert isinstance(end, ViewEndEvent) and end.reason == "error"


def test_a_device_type_outside_the_dictionary_is_dropped() -> None:
    fmt = EpasFormat()
    for n, kind in enumerate(["tv", "fridge", {"a": 1}, ["tv"]]):
        payload = {"deviceType": kind, "deviceModel": "M"}
        view = f"s{n}"
        body = {"event": "init", "sessionId": view, "timestamp": 1_700_000_000_000}
        [start] = fmt.map(json.dumps({**body, "payload": payload}).encode(), {})
        assert start.device and start.device.model == "M"
        assert start.device.type == ("tv" if kind == "tv" else None), kind


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (b'{"sessionId": "s", "timestamp": 1}', "$.event"),
        (b'{"event": "init", "timestamp": 1}', "$.sessionId"),
        (b'{"event": "init", "sessionId": "s", "timestamp": "x"}', "$.timestamp"),
        (b'{"event": "init", "sessionId": "s", "timestamp": 0}', "$.timestamp"),
        (b'{"event": "", "sessionId": "s", "timestamp": 5}', "$.event"),
        (
            json.dumps({"event": "init", "sessionId": "s" * 500, "timestamp": 5}).encode(),
            "$.sessionId",
        ),
        (b"[" * 100_000, "$"),
        (b"\xff", "$"),
    ],
)
def test_a_bad_event_is_rejected_with_the_field(value: bytes, field: str) -> None:
    with pytest.raises(MappingError) as caught:
        EpasFormat().map(value, {})
    assert caught.value.field == field and caught.value.reason


@pytest.mark.anyio
async def test_the_route_answers_the_sdk_preflight_and_init() -> None:
    app, sink = make_app()
    origin = "http://page.example"
    async with client(app) as http:
        pre = await http.options(
            "/v1/epas",
            headers={
                "origin": origin,
                "access-control-request-method": "POST",
                "access-control-request-headers": "content-type,x-epas-event,x-epas-version",
            },
        )
        init = await http.post(
            "/v1/epas",
            content=_event("init", 1_700_000_000_000, -1, -1),
            headers={"origin": origin, "content-type": "application/json; charset=utf-8"},
        )
    allowed = pre.headers["access-control-allow-headers"]
    assert pre.status_code == 204 and "x-epas-event" in allowed and "x-epas-version" in allowed
    assert init.status_code == 200 and init.json() == {}
    assert len(sink.records) == 1


@pytest.mark.parametrize(
    "name",
    [
        "init", "metadata", "heartbeat", "loading", "loaded", "playing", "resume", "paused",
        "buffering", "buffered", "seeking", "seeked", "stopped", "bitrate_changed", "error",
        "warning", "something_new",
    ],
)  # fmt: skip
@pytest.mark.parametrize("started", [False, True])
def test_every_event_maps_to_valid_events(name: str, started: bool) -> None:
    fmt = EpasFormat()
    if started:
        fmt.map(_event("playing", 1_700_000_000_000, 0.5, 8.0), {})
        fmt.map(_event("buffering", 1_700_000_000_500, 0.6, 8.0), {})
    payload = {"bitrate": 2500, "width": 1280, "code": "E", "reason": "ended", "live": False}
    fmt.map(_event(name, 1_700_000_001_000, 1.5, 8.0, payload=payload), {})
