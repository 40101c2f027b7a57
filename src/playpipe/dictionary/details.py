"""Detail nodes: measured values and the specifics of ads, errors and media requests."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta

from playpipe.dictionary._meta import (
    Bytes,
    Count,
    Id,
    Kbps,
    LongText,
    Millis,
    Pixels,
    RenditionKbps,
    Text,
    Url,
    doc,
)
from playpipe.dictionary.nodes import Node

__all__ = ["AdNode", "ErrorNode", "FluxdataNode", "SegmentNode"]


class FluxdataNode(Node):
    """Interval values sampled by the player when the event was emitted.

    Counters (``dropped_frames``) are cumulative since the start of the view, so a lost beacon
    loses no information.
    """

    playhead_ms: Annotated[
        Millis | None, doc("Playhead position in the media.", 61_250, unit="ms")
    ] = None
    bitrate_kbps: Annotated[
        RenditionKbps | None,
        doc("Declared bit rate of the current video rendition.", 2_500, unit="kbps"),
    ] = None
    rendition: Annotated[Text | None, doc("Current rendition label.", "720p")] = None
    width_px: Annotated[Pixels | None, doc("Decoded video width.", 1280, unit="px")] = None
    height_px: Annotated[Pixels | None, doc("Decoded video height.", 720, unit="px")] = None
    framerate: Annotated[
        Annotated[float, Meta(ge=0, le=1000)] | None,
        doc("Frame rate of the current rendition.", 29.97, unit="frames/s"),
    ] = None
    codec: Annotated[Text | None, doc("Video codec string (RFC 6381).", "avc1.64001f")] = None
    buffer_ms: Annotated[
        Millis | None, doc("Forward buffer length ahead of the playhead.", 12_000, unit="ms")
    ] = None
    dropped_frames: Annotated[
        Count | None, doc("Dropped frames since the view started (cumulative).", 3, unit="frames")
    ] = None
    throughput_kbps: Annotated[
        Kbps | None, doc("Player's current bandwidth estimate.", 8_400, unit="kbps")
    ] = None
    playback_rate: Annotated[
        Annotated[float, Meta(ge=0, le=16)] | None,
        doc("Playback speed; 1 is normal speed, 0 is paused.", 1, unit="ratio"),
    ] = None
    volume: Annotated[
        Annotated[float, Meta(ge=0, le=1)] | None,
        doc("Output volume between 0 (silent) and 1 (full).", 0.8, unit="fraction of full"),
    ] = None
    muted: Annotated[bool | None, doc("Whether audio is muted.", False)] = None


class AdNode(Node):
    """The ad or ad break an ad event refers to."""

    ad_id: Annotated[Id | None, doc("Ad identifier from the ad server.", "ad-7781")] = None
    break_id: Annotated[
        Id | None, doc("Identifier of the ad break (pod), unique within the view.", "brk-1")
    ] = None
    position: Annotated[
        Literal["preroll", "midroll", "postroll"] | None,
        doc("Where the break sits relative to the content.", "preroll"),
    ] = None
    creative_id: Annotated[Id | None, doc("Creative identifier.", "cr-5521")] = None
    duration_ms: Annotated[Millis | None, doc("Ad duration.", 15_000, unit="ms")] = None
    quartile: Annotated[
        Annotated[int, Meta(ge=1, le=3)] | None,
        doc("Quartile reached, on ad_quartile: 1 = 25 %, 2 = 50 %, 3 = 75 %.", 2),
    ] = None
    system: Annotated[Text | None, doc("Ad system or SDK: ima, freewheel, …", "ima")] = None
    skippable: Annotated[bool | None, doc("Whether the viewer may skip the ad.", True)] = None


class ErrorNode(Node):
    """An error reported by the player, the SDK or the ad stack.

    ``severity`` decides the QoE outcome: only ``fatal`` errors that are not ``business``
    errors count as start failures or playback failures.
    """

    code: Annotated[
        Annotated[str, Meta(min_length=1, max_length=128)],
        doc("Error code as reported by the player or SDK.", "MEDIA_ERR_NETWORK", "4"),
    ]
    severity: Annotated[
        Literal["fatal", "warning"],
        doc("fatal stops playback; warning is reported while playback continues.", "fatal"),
    ]
    message: Annotated[
        LongText | None, doc("Human-readable message.", "Segment request failed: HTTP 503")
    ] = None
    business: Annotated[
        bool,
        doc("Expected, policy-driven error (geo-block, entitlement, concurrency limit).", False),
    ] = False
    context: Annotated[
        LongText | None,
        doc("Extra diagnostic context (free text).", "fragLoadError level=3 sn=42"),
    ] = None


class SegmentNode(Node):
    """One completed media request (segment, manifest, init or subtitle file)."""

    kind: Annotated[
        Literal["video", "audio", "manifest", "init", "subtitle", "other"],
        doc("What was requested.", "video"),
    ]
    url: Annotated[Url | None, doc("Request URL.", "https://cdn.example.com/bbb/720p/42.m4s")] = (
        None
    )
    status: Annotated[
        Annotated[int, Meta(ge=0, le=999)] | None,
        doc("HTTP status code; 0 when no response was received.", 200),
    ] = None
    bytes: Annotated[Bytes | None, doc("Response body size.", 1_254_876, unit="bytes")] = None
    duration_ms: Annotated[
        Millis | None, doc("Request start to last byte received.", 412, unit="ms")
    ] = None
    ttfb_ms: Annotated[
        Millis | None, doc("Request start to first byte received.", 38, unit="ms")
    ] = None
    bitrate_kbps: Annotated[
        RenditionKbps | None,
        doc("Declared bit rate of the rendition the segment belongs to.", 2_500, unit="kbps"),
    ] = None
