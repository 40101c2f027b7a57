"""The envelope: fields common to every event, and the schema version."""

from __future__ import annotations

from typing import Annotated, Final

import msgspec
from msgspec import Meta

from playpipe.dictionary._meta import Count, EpochMillis, Id, doc
from playpipe.dictionary.details import AdNode, ErrorNode, FluxdataNode
from playpipe.dictionary.nodes import (
    ContentNode,
    CustomNode,
    DeviceNode,
    GeoNode,
    NetworkNode,
    PlayerNode,
)

__all__ = ["SCHEMA_VERSION", "BaseEvent"]

SCHEMA_VERSION: Final = 1
"""Version of the data dictionary written by this code. See docs/schema-evolution.md."""

OLDEST_READABLE_VERSION: Final = max(1, SCHEMA_VERSION - 1)
"""Decoders of version N accept events of versions N and N-1."""

SchemaVersion = Annotated[int, Meta(ge=OLDEST_READABLE_VERSION, le=SCHEMA_VERSION)]
EventId = Annotated[str, Meta(min_length=1, max_length=64)]
SourceName = Annotated[str, Meta(pattern="^[a-z][a-z0-9_]{0,31}$")]


def _current_version() -> int:
    # A factory instead of a plain default: ``omit_defaults`` never omits factory defaults,
    # so the version is always written on the wire, which readers of later versions rely on.
    # While SCHEMA_VERSION is 1 this is also what an absent field means when decoding.
    return SCHEMA_VERSION


class BaseEvent(
    msgspec.Struct,
    kw_only=True,
    forbid_unknown_fields=True,
    omit_defaults=True,
    tag_field="event_type",
    gc=False,
):
    """Envelope shared by every event; the ``event_type`` tag selects the concrete event.

    ``received_at``, ``event_ts`` and ``skew_flagged`` are set by the collector and never
    trusted from clients: the collector overwrites them on ingest. Downstream topics carry the
    same schema, so they are accepted on decode.
    """

    schema_version: Annotated[
        SchemaVersion,
        doc("Data dictionary version the event was written against; 1 if absent.", 1),
        Meta(extra_json_schema={"default": SCHEMA_VERSION}),
    ] = msgspec.field(default_factory=_current_version)
    event_id: Annotated[
        EventId,
        doc(
            "Client-made unique id of the event, used for deduplication; a UUID is recommended.",
            "0f8fad5b-d9cb-469f-a165-70867728950e",
        ),
    ]
    seq: Annotated[
        Count,
        doc("Sequence number within the view, starting at 0 and increasing by event.", 7),
    ]
    client_ts: Annotated[
        EpochMillis,
        doc(
            "When the event happened, by the client clock.",
            1_732_579_200_000,
            unit="ms since epoch",
        ),
    ]
    view_id: Annotated[
        Id, doc("Id of one playback attempt of one piece of content.", "9b1f4c1e-view")
    ]
    viewer_id: Annotated[
        Id | None, doc("Stable, anonymous id of the viewer (device or account).", "viewer-31c2")
    ] = None
    session_id: Annotated[
        Id | None, doc("Browser or app session spanning several views.", "sess-84d0")
    ] = None
    property: Annotated[
        Id | None,
        doc("Key of the site or app; the collector fills it from the batch if absent.", "acme-web"),
    ] = None
    source: Annotated[
        SourceName, doc("Producer format: sdk, cmcd, mux, snowplow, epas, …", "sdk")
    ] = "sdk"
    received_at: Annotated[
        EpochMillis | None,
        doc(
            "Set by the collector: when it received the event.",
            1_732_579_200_450,
            unit="ms since epoch",
        ),
    ] = None
    event_ts: Annotated[
        EpochMillis | None,
        doc(
            "Set by the collector: event time corrected for client clock skew.",
            1_732_579_200_180,
            unit="ms since epoch",
        ),
    ] = None
    skew_flagged: Annotated[
        bool, doc("Set by the collector: the client clock skew exceeded the threshold.", False)
    ] = False
    player: Annotated[PlayerNode | None, doc("The player and SDK integration.")] = None
    content: Annotated[ContentNode | None, doc("The content being played.")] = None
    device: Annotated[DeviceNode | None, doc("The viewer's device and software.")] = None
    geo: Annotated[GeoNode | None, doc("Coarse location, set by the collector.")] = None
    network: Annotated[NetworkNode | None, doc("Network path: IP, ASN, ISP, CDN.")] = None
    ad: Annotated[AdNode | None, doc("The ad or ad break, on ad events.")] = None
    error: Annotated[ErrorNode | None, doc("Error details; required on error events.")] = None
    custom: Annotated[CustomNode | None, doc("Customer-defined dimensions.")] = None
    fluxdata: Annotated[FluxdataNode | None, doc("Interval values sampled with the event.")] = None
