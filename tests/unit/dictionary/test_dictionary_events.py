"""Round trips, required fields and constraints of every dictionary event type."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from playpipe.dictionary import (
    EVENT_CLASSES,
    EVENT_TYPES,
    SCHEMA_VERSION,
    ErrorEvent,
    Event,
    PlayingEvent,
    ValidationError,
    ViewEndEvent,
    convert_event,
    decode_event,
    decode_events,
    encode_event,
    encode_events,
    example_event,
)

ENVELOPE: dict[str, Any] = {
    "event_id": "e-1",
    "seq": 0,
    "client_ts": 1_732_579_200_000,
    "view_id": "v-1",
}


def body(**fields: Any) -> bytes:
    return json.dumps({**ENVELOPE, **fields}).encode()


@pytest.mark.parametrize("event_type", EVENT_TYPES)
@pytest.mark.parametrize("full", [False, True], ids=["minimal", "full"])
def test_every_event_type_round_trips(event_type: str, full: bool) -> None:
    event = example_event(event_type, full=full)
    assert decode_event(encode_event(event)) == event
    assert convert_event(json.loads(encode_event(event))) == event


def test_event_types_match_classes_and_naming() -> None:
    assert len(EVENT_TYPES) == len(set(EVENT_TYPES)) == len(EVENT_CLASSES) == 29
    for tag, cls in zip(EVENT_TYPES, EVENT_CLASSES, strict=True):
        camel = "".join(part.capitalize() for part in tag.split("_"))
        assert cls.__name__ == f"{camel}Event"


def test_decode_returns_the_tagged_class() -> None:
    event = decode_event(body(event_type="playing", fluxdata={"bitrate_kbps": 2500}))
    assert isinstance(event, PlayingEvent)
    assert event.fluxdata is not None
    assert event.fluxdata.bitrate_kbps == 2500
    assert event.source == "sdk"
    assert event.schema_version == SCHEMA_VERSION


def test_decode_accepts_str() -> None:
    assert isinstance(decode_event(body(event_type="paused").decode()), msgspec.Struct)


def test_schema_version_is_always_encoded() -> None:
    encoded = json.loads(encode_event(example_event("heartbeat")))
    assert encoded["schema_version"] == SCHEMA_VERSION
    assert "source" not in encoded  # other defaults are omitted


def test_null_means_absent() -> None:
    event = decode_event(body(event_type="paused", player=None, viewer_id=None))
    assert event.player is None
    assert b"player" not in encode_event(event)


def test_custom_node_keeps_value_types() -> None:
    custom = {"plan": "premium", "age": 3, "ratio": 0.5, "beta": True}
    event = decode_event(body(event_type="custom", name="share", custom=custom))
    assert event.custom == custom
    assert decode_event(encode_event(event)) == event


def test_decode_events_batch() -> None:
    batch = [json.loads(encode_event(example_event(t))) for t in EVENT_TYPES]
    events: list[Event] = decode_events(json.dumps(batch).encode())
    assert [type(e) for e in events] == list(EVENT_CLASSES)
    assert decode_events(encode_events(events)) == events


def test_decode_events_names_the_bad_item() -> None:
    batch = [{**ENVELOPE, "event_type": "paused"}, {**ENVELOPE, "event_type": "x"}]
    with pytest.raises(ValidationError, match=r"\$\[1\]\.event_type"):
        decode_events(json.dumps(batch).encode())


@pytest.mark.parametrize(
    ("event_type", "missing"),
    [
        ("error", "error"),
        ("view_end", "reason"),
        ("milestone", "name"),
        ("cdn_change", "cdn"),
        ("segment_response", "segment"),
        ("custom", "name"),
    ],
)
def test_event_specific_required_fields(event_type: str, missing: str) -> None:
    with pytest.raises(ValidationError, match=f"missing required field `{missing}`"):
        decode_event(body(event_type=event_type))


@pytest.mark.parametrize("missing", sorted(ENVELOPE))
def test_envelope_required_fields(missing: str) -> None:
    fields = {k: v for k, v in ENVELOPE.items() if k != missing}
    with pytest.raises(ValidationError, match=f"missing required field `{missing}`"):
        decode_event(json.dumps({"event_type": "playing", **fields}))


def test_missing_event_type_rejected() -> None:
    with pytest.raises(ValidationError, match="`event_type`"):
        decode_event(body())


def test_unknown_event_type_rejected() -> None:
    with pytest.raises(ValidationError, match=r"Invalid value 'stalled' - at `\$\.event_type`"):
        decode_event(body(event_type="stalled"))


def test_error_node_fields() -> None:
    event = decode_event(
        body(event_type="error", error={"code": "E1", "severity": "warning", "business": True})
    )
    assert isinstance(event, ErrorEvent)
    assert (event.error.code, event.error.severity, event.error.business) == ("E1", "warning", True)
    with pytest.raises(
        ValidationError, match=r"missing required field `severity` - at `\$\.error`"
    ):
        decode_event(body(event_type="error", error={"code": "E1"}))


def test_ad_error_node_is_optional() -> None:
    assert decode_event(body(event_type="ad_error")).error is None


@pytest.mark.parametrize("reason", ["ended", "aborted", "error", "timeout"])
def test_view_end_reasons(reason: str) -> None:
    event = decode_event(body(event_type="view_end", reason=reason))
    assert isinstance(event, ViewEndEvent)
    assert event.reason == reason
