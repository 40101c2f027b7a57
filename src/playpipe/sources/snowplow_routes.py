"""The collector side of Snowplow: the tracker-protocol paths and their framing.

A Snowplow tracker pointed at the collector (``newTracker("sp", "https://collector…")``)
posts batches to ``/com.snowplowanalytics.snowplow/tp2`` (``payload_data``: a JSON object
whose ``data`` lists events of string fields) or, with ``eventMethod: "get"``, requests the
pixel ``/i?e=…`` once per event. Each event becomes one raw record keyed by its view (the
media session, else the browser session), so a media session's events stay in order on one
partition. The JavaScript tracker sends with ``credentials: "include"``: the collector's
CORS answer echoes the origin with ``Access-Control-Allow-Credentials: true`` (never ``*``).
"""

from __future__ import annotations

from typing import Any

import msgspec

from playpipe.collector.routes import Frame, RequestFacts, SourceRoute, decode_body, view_key
from playpipe.sources.registry import MappingError
from playpipe.sources.snowplow import decode

FORMAT = "snowplow"
POST_PATH = "/com.snowplowanalytics.snowplow/tp2"
PIXEL_PATH = "/i"
PIXEL = bytes.fromhex(
    "47494638396101000100800000ffffff00000021f90401000000002c00000000010001000002024401003b"
)
"""A transparent 1x1 GIF, the pixel's answer."""

_encoder = msgspec.json.Encoder()


class _Payload(msgspec.Struct):
    data: list[Any]
    schema: str = ""


def _key(value: bytes) -> bytes | None:
    try:
        return view_key(decode(value).view_id)
    except MappingError:
        return None


def frame_post(body: bytes, facts: RequestFacts) -> list[Frame]:
    """One record per event of a ``payload_data`` batch."""
    payload = decode_body(body, _Payload, "not a Snowplow payload_data batch ({schema, data})")
    frames = []
    for item in payload.data:
        value = _encoder.encode(item)
        frames.append(Frame(_key(value), value))
    return frames


def frame_pixel(body: bytes, facts: RequestFacts) -> list[Frame]:
    """The pixel's query string is one event."""
    return [Frame(_key(body), body)] if body.strip() else []


ROUTES = [
    SourceRoute(
        path=POST_PATH,
        format=FORMAT,
        methods=("POST",),
        content_types=("application/json", "text/plain", ""),
        frame=frame_post,
        ok_status=200,
        summary="Snowplow tracker protocol v2 batches (payload_data)",
    ),
    SourceRoute(
        path=PIXEL_PATH,
        format=FORMAT,
        methods=("GET",),
        content_types=("",),
        frame=frame_pixel,
        ok_status=200,
        ok_body=PIXEL,
        ok_content_type="image/gif",
        summary="Snowplow tracker protocol GET pixel (one event in the query string)",
    ),
]
