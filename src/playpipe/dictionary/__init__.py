"""The playpipe data dictionary: the canonical event schema (version 1).

Every event is a JSON object tagged by ``event_type``; :data:`Event` is the union of the event
classes. Decode and validate once at the boundary, then work with typed structs::

    from playpipe.dictionary import ErrorEvent, ValidationError, decode_event, error_field

    try:
        event = decode_event(body)
    except ValidationError as exc:
        reject(field=error_field(exc), reason=error_reason(exc))
    if isinstance(event, ErrorEvent) and event.error.severity == "fatal":
        ...

Errors: ``ValidationError`` (a valid JSON document that is not a valid event) is a subclass of
``msgspec.DecodeError`` (malformed JSON), itself a ``ValueError``.

The rules for changing the schema are in ``docs/schema-evolution.md``; the field reference in
``docs/dictionary.md`` is generated from these structs by ``playpipe.dictionary.docs``.
"""

from __future__ import annotations

from playpipe.dictionary.codec import (
    ValidationError,
    convert_event,
    decode_event,
    decode_events,
    encode_event,
    encode_events,
    error_field,
    error_reason,
)
from playpipe.dictionary.details import AdNode, ErrorNode, FluxdataNode, SegmentNode
from playpipe.dictionary.envelope import SCHEMA_VERSION, BaseEvent
from playpipe.dictionary.events import (
    EVENT_CLASSES,
    EVENT_TYPES,
    AdBreakEndEvent,
    AdBreakStartEvent,
    AdClickEvent,
    AdEndEvent,
    AdErrorEvent,
    AdQuartileEvent,
    AdSkipEvent,
    AdStartEvent,
    CdnChangeEvent,
    CustomEvent,
    EndedEvent,
    ErrorEvent,
    Event,
    FirstFrameEvent,
    HeartbeatEvent,
    MilestoneEvent,
    PausedEvent,
    PlayerReadyEvent,
    PlayingEvent,
    PlayRequestedEvent,
    RateChangeEvent,
    RebufferEndEvent,
    RebufferStartEvent,
    RenditionChangeEvent,
    SeekEndEvent,
    SeekStartEvent,
    SegmentResponseEvent,
    ViewEndEvent,
    ViewStartEvent,
    VolumeChangeEvent,
)
from playpipe.dictionary.examples import example_event
from playpipe.dictionary.nodes import (
    ContentNode,
    CustomNode,
    CustomValue,
    DeviceNode,
    GeoNode,
    NetworkNode,
    PlayerNode,
)
from playpipe.dictionary.schema import SCHEMA_ID, json_schema, json_schema_text

__all__ = [
    "EVENT_CLASSES",
    "EVENT_TYPES",
    "SCHEMA_ID",
    "SCHEMA_VERSION",
    "AdBreakEndEvent",
    "AdBreakStartEvent",
    "AdClickEvent",
    "AdEndEvent",
    "AdErrorEvent",
    "AdNode",
    "AdQuartileEvent",
    "AdSkipEvent",
    "AdStartEvent",
    "BaseEvent",
    "CdnChangeEvent",
    "ContentNode",
    "CustomEvent",
    "CustomNode",
    "CustomValue",
    "DeviceNode",
    "EndedEvent",
    "ErrorEvent",
    "ErrorNode",
    "Event",
    "FirstFrameEvent",
    "FluxdataNode",
    "GeoNode",
    "HeartbeatEvent",
    "MilestoneEvent",
    "NetworkNode",
    "PausedEvent",
    "PlayRequestedEvent",
    "PlayerNode",
    "PlayerReadyEvent",
    "PlayingEvent",
    "RateChangeEvent",
    "RebufferEndEvent",
    "RebufferStartEvent",
    "RenditionChangeEvent",
    "SeekEndEvent",
    "SeekStartEvent",
    "SegmentNode",
    "SegmentResponseEvent",
    "ValidationError",
    "ViewEndEvent",
    "ViewStartEvent",
    "VolumeChangeEvent",
    "convert_event",
    "decode_event",
    "decode_events",
    "encode_event",
    "encode_events",
    "error_field",
    "error_reason",
    "example_event",
    "json_schema",
    "json_schema_text",
]
