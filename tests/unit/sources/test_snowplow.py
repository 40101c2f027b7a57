"""Snowplow: recorded media-plugin plays (tp2 POST base64 and plain, GET pixel), bad input."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from playpipe.dictionary import CustomEvent, FirstFrameEvent, PlayRequestedEvent
from playpipe.sources import MappingError
from playpipe.sources.snowplow import SnowplowFormat
from tests.unit.collector.harness import INVALID, client, make_app
from tests.unit.sources.recorded_play import collect, kinds, load, mapped

PLAYS = load("snowplow-media-4.6.6.json")["plays"]
STORY = ["RenditionChange", "PlayRequested", "FirstFrame", "Playing", "RenditionChange"]


def _browser(play: dict[str, Any], kind: str) -> int:
    return next(int(e["t"]) for e in play["media"]["events"] if e["type"] == kind)


@pytest.mark.parametrize("name", ["post", "post-plain", "get"])
def test_a_recorded_play_maps_in_every_encoding(name: str) -> None:
    play = PLAYS[name]
    records, statuses = collect(play["requests"])
    assert set(statuses) == {200}
    events = mapped(SnowplowFormat(), records)
    assert kinds(events)[:5] == STORY
    assert kinds(events)[-2:] == ["Ended", "ViewEnd"] or kinds(events)[-3:-1] == [
        "Ended",
        "ViewEnd",
    ]
    assert len({e.view_id for e in events}) == 1 and events[0].view_id.startswith("media-")
    first = next(e for e in events if isinstance(e, FirstFrameEvent))
    request = next(e for e in events if isinstance(e, PlayRequestedEvent))
    # no buffering after play: the first frame is the play itself, within the browser's
    # play -> playing time
    assert first.client_ts == request.client_ts
    assert abs(first.client_ts - _browser(play, "playing")) <= 50
    assert all(e.property == "demo" and e.source == "snowplow" for e in events)
    assert events[-1].content and events[-1].content.duration_ms == 8083
    seqs = [e.seq for e in events]
    assert len(set(seqs)) == len(seqs)


def test_the_get_play_shows_its_rebuffer_and_renditions() -> None:
    events = mapped(SnowplowFormat(), collect(PLAYS["get"]["requests"])[0])
    names = kinds(events)
    assert names.count("RebufferStart") == 1 and names.count("RebufferEnd") == 1
    start = events[names.index("RebufferStart")]
    assert abs(start.client_ts - _browser(PLAYS["get"], "waiting")) <= 5
    renditions = [
        e.fluxdata and e.fluxdata.rendition for e in events if kinds([e]) == ["RenditionChange"]
    ]
    assert renditions == ["108p", "180p", "270p"]


def test_retried_events_map_to_the_same_ids() -> None:
    records, _ = collect(PLAYS["post"]["requests"])
    one = mapped(SnowplowFormat(), records)
    two = mapped(SnowplowFormat(), records)
    assert [e.event_id for e in one] == [e.event_id for e in two]


def _event(**fields: str) -> bytes:
    base = {"e": "pv", "eid": "e-1", "dtm": "1700000000000", "sid": "s-1", "aid": "site"}
    return json.dumps({**base, **fields}).encode()


def test_other_events_are_kept_as_custom() -> None:
    [page] = SnowplowFormat().map(_event(), {})
    assert isinstance(page, CustomEvent) and page.name == "snowplow_page_view"
    unstruct = json.dumps(
        {"schema": "x", "data": {"schema": "iglu:com.acme/clicked/jsonschema/1-0-0", "data": {}}}
    )
    [click] = SnowplowFormat().map(_event(e="ue", ue_pr=unstruct, eid="e-2"), {})
    assert isinstance(click, CustomEvent) and click.name == "snowplow:com.acme/clicked"
    [se] = SnowplowFormat().map(_event(e="se", se_ca="video", se_ac="share", eid="e-3"), {})
    assert se.custom == {"snowplow_se_ca": "video", "snowplow_se_ac": "share"}
    assert se.view_id == "s-1" and se.property == "site"


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (_event(e=""), "$.e"),
        (_event(eid=""), "$.eid"),
        (_event(dtm="", stm=""), "$.dtm"),
        (_event(cx="%%%not base64"), "$.cx"),
        (_event(cx=base64.urlsafe_b64encode(b"{not json").decode()), "$.cx"),
        (_event(co="[" * 10_000), "$.co"),
        (_event(e="ue", ue_pr="{"), "$.ue_pr"),
        (b"e=pv&eid=x", "$.dtm"),
        (b"\xff\xfe", "$"),
        (b"{", "$"),
        (b"{}", "$.e"),
    ],
)
def test_a_bad_event_is_rejected_with_the_field(value: bytes, field: str) -> None:
    with pytest.raises(MappingError) as caught:
        SnowplowFormat().map(value, {})
    assert caught.value.field == field and caught.value.reason


@pytest.mark.anyio
async def test_credentialed_cors_echoes_the_origin() -> None:
    app, _ = make_app()
    origin = "http://page.example"
    async with client(app) as http:
        pre = await http.options(
            "/com.snowplowanalytics.snowplow/tp2",
            headers={"origin": origin, "access-control-request-method": "POST"},
        )
        body = json.dumps({"schema": "payload_data", "data": [json.loads(_event())]})
        post = await http.post(
            "/com.snowplowanalytics.snowplow/tp2",
            content=body,
            headers={"origin": origin, "content-type": "application/json; charset=UTF-8"},
        )
        pixel = await http.get(
            "/i?" + "e=pv&eid=x&dtm=1700000000000&sid=s", headers={"origin": origin}
        )
    for answer in (pre, post, pixel):
        assert answer.headers["access-control-allow-origin"] == origin
        assert answer.headers["access-control-allow-credentials"] == "true"
    assert pre.status_code == 204 and post.status_code == 200
    assert pixel.status_code == 200 and pixel.headers["content-type"] == "image/gif"
    assert pixel.content.startswith(b"GIF89a")


@pytest.mark.anyio
@pytest.mark.parametrize("body", [b"{", b'{"data": 5}', b"[" * 50_000, b'"text"'])
async def test_a_broken_batch_is_refused_and_kept(body: bytes) -> None:
    app, sink = make_app()
    async with client(app) as http:
        answer = await http.post(
            "/com.snowplowanalytics.snowplow/tp2",
            content=body,
            headers={"content-type": "application/json"},
        )
    assert answer.status_code == 400 and "payload_data" in answer.json()["error"]
    assert len(sink.on(INVALID)) == 1


MEDIA_NAMES = [
    "ready", "play", "pause", "end", "seek_start", "seek_end", "playback_rate_change",
    "volume_change", "fullscreen_change", "picture_in_picture_change", "ping",
    "percent_progress", "ad_break_start", "ad_break_end", "ad_start", "ad_first_quartile",
    "ad_midpoint", "ad_third_quartile", "ad_complete", "ad_skip", "ad_click", "ad_pause",
    "ad_resume", "buffer_start", "buffer_end", "quality_change", "error",
]  # fmt: skip


@pytest.mark.parametrize("first", [False, True])
@pytest.mark.parametrize("name", MEDIA_NAMES)
def test_every_media_event_maps_to_valid_events(name: str, first: bool) -> None:
    def media(event: str, eid: str, dtm: int) -> bytes:
        schema = f"iglu:com.snowplowanalytics.snowplow.media/{event}_event/jsonschema/1-0-0"
        data = {"percentProgress": 50, "newQuality": "720p", "bitrate": 3e6, "errorCode": "E"}
        ue = {"schema": "u", "data": {"schema": schema, "data": data}}
        session = "iglu:com.snowplowanalytics.snowplow.media/session/jsonschema/1-0-0"
        player = "iglu:com.snowplowanalytics.snowplow/media_player/jsonschema/2-0-0"
        co = {
            "schema": "c",
            "data": [
                {"schema": session, "data": {"mediaSessionId": "m1", "timePlayed": 1.5}},
                {"schema": player, "data": {"currentTime": 2.5, "duration": 20, "volume": 80}},
            ],
        }
        fields = {"e": "ue", "eid": eid, "dtm": str(dtm), "ue_pr": json.dumps(ue)}
        return json.dumps({**fields, "co": json.dumps(co)}).encode()

    fmt = SnowplowFormat()
    if first:
        fmt.map(media("play", "e0", 1_700_000_000_000), {})
        fmt.map(media("buffer_start", "e1", 1_700_000_000_100), {})
        fmt.map(media("buffer_end", "e2", 1_700_000_000_200), {})
    events = fmt.map(media(name, "e3", 1_700_000_001_000), {})
    assert all(e.view_id == "m1" for e in events)
