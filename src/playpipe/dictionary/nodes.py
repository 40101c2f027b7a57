"""Context nodes: who is watching what, with which player, on which device, from where.

Each node is an optional object on the event envelope. Unknown keys are rejected so that a
typo in an SDK shows up as an invalid event instead of silently missing data.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from playpipe.dictionary._meta import (
    Count,
    Id,
    Language,
    LongText,
    Millis,
    Pixels,
    Text,
    Url,
    Version,
    doc,
)

__all__ = [
    "ContentNode",
    "CustomNode",
    "CustomValue",
    "DeviceNode",
    "GeoNode",
    "NetworkNode",
    "PlayerNode",
]


# ``gc=False``: events and nodes are trees of plain values that never form reference cycles,
# so the cycle collector need not track them (a measurable share of the collector's CPU).
class Node(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True, gc=False):
    """Base of every node: keyword-only, unknown keys rejected, defaults omitted on the wire."""


class PlayerNode(Node):
    """The player and the playpipe integration that observed the playback."""

    name: Annotated[Text | None, doc("Player software name.", "hls.js", "Shaka Player")] = None
    version: Annotated[Version | None, doc("Player software version.", "1.5.13")] = None
    integration: Annotated[
        Text | None,
        doc("SDK adapter that produced the events: html5, hlsjs, dashjs, videojs, …", "hlsjs"),
    ] = None
    integration_version: Annotated[Version | None, doc("Adapter version.", "0.1.0")] = None
    sdk_version: Annotated[Version | None, doc("playpipe SDK core version.", "0.1.0")] = None
    width_px: Annotated[Pixels | None, doc("Player element width.", 1280, unit="px")] = None
    height_px: Annotated[Pixels | None, doc("Player element height.", 720, unit="px")] = None
    autoplay: Annotated[bool | None, doc("Whether playback was started by autoplay.", False)] = None
    preload: Annotated[
        Text | None, doc("Preload setting of the player (HTML5: none, metadata, auto).", "auto")
    ] = None
    language: Annotated[Language | None, doc("Player UI language, BCP 47.", "en-GB")] = None


class ContentNode(Node):
    """The piece of content being played."""

    id: Annotated[
        Id | None, doc("Content identifier in the customer's catalogue.", "tt0111161")
    ] = None
    title: Annotated[Text | None, doc("Content title.", "Big Buck Bunny")] = None
    series: Annotated[Text | None, doc("Series or show name.", "Open Movies")] = None
    season: Annotated[Count | None, doc("Season number within the series.", 1)] = None
    episode: Annotated[Count | None, doc("Episode number within the season.", 4)] = None
    category: Annotated[Text | None, doc("Genre or editorial category.", "animation")] = None
    duration_ms: Annotated[
        Millis | None, doc("Content duration; absent for live streams.", 596_000, unit="ms")
    ] = None
    stream_type: Annotated[
        Literal["vod", "live"] | None, doc("Video on demand or live stream.", "vod")
    ] = None
    url: Annotated[
        Url | None, doc("Source URL (manifest or file).", "https://cdn.example.com/bbb/master.m3u8")
    ] = None
    encoding_variant: Annotated[
        Text | None, doc("Encoding ladder or packaging variant label.", "hevc-ladder-2024")
    ] = None
    language: Annotated[Language | None, doc("Main audio language, BCP 47.", "en")] = None
    producer: Annotated[Text | None, doc("Producer or content owner.", "Blender Foundation")] = None


class DeviceNode(Node):
    """The device and software environment; the collector may fill it from the user agent."""

    type: Annotated[
        Literal["desktop", "mobile", "tablet", "tv", "console", "other"] | None,
        doc("Device class.", "mobile"),
    ] = None
    os: Annotated[Text | None, doc("Operating system family.", "iOS")] = None
    os_version: Annotated[Version | None, doc("Operating system version.", "17.5")] = None
    browser: Annotated[
        Text | None, doc("Browser family; absent in native apps.", "Mobile Safari")
    ] = None
    browser_version: Annotated[Version | None, doc("Browser version.", "17.5")] = None
    model: Annotated[Text | None, doc("Device model.", "iPhone15,2")] = None
    manufacturer: Annotated[Text | None, doc("Device manufacturer.", "Apple")] = None
    user_agent: Annotated[
        LongText | None,
        doc(
            "Raw User-Agent string.",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile/15E148",
        ),
    ] = None


class GeoNode(Node):
    """Coarse location, set by the collector from the client IP address."""

    country: Annotated[
        Annotated[str, Meta(pattern="^[A-Z]{2}$")] | None,
        doc("Country, ISO 3166-1 alpha-2, upper case.", "FR"),
    ] = None
    region: Annotated[Text | None, doc("Region or state, ISO 3166-2 subdivision code.", "IDF")] = (
        None
    )
    city: Annotated[Text | None, doc("City name.", "Paris")] = None
    continent: Annotated[
        Literal["AF", "AN", "AS", "EU", "NA", "OC", "SA"] | None,
        doc("Continent code.", "EU"),
    ] = None


class NetworkNode(Node):
    """Network path of the viewer."""

    ip: Annotated[
        Text | None,
        doc("Client IP address, truncated by the collector (IPv4 /24, IPv6 /48).", "203.0.113.0"),
    ] = None
    asn: Annotated[Count | None, doc("Autonomous system number.", 3215)] = None
    isp: Annotated[Text | None, doc("Internet service provider or AS organisation.", "Orange")] = (
        None
    )
    connection_type: Annotated[
        Text | None, doc("Connection type: wifi, cellular, ethernet, …", "wifi")
    ] = None
    cdn: Annotated[
        Text | None, doc("CDN serving the media at the time of the event.", "akamai")
    ] = None


CustomKey = Annotated[str, Meta(min_length=1, max_length=64)]
CustomValue = Annotated[str, Meta(max_length=256)] | int | float | bool
"""A custom dimension value: a string (at most 256 chars), a number or a boolean."""

CustomNode = Annotated[
    dict[CustomKey, CustomValue],
    Meta(
        max_length=50,
        description="Customer-defined dimensions: at most 50 keys of 1 to 64 chars each.",
        examples=[{"experiment": "player-v2", "subscriber": True}],
    ),
]
"""The ``custom`` node: a flat mapping of customer-defined dimensions."""
