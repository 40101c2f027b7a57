"""Constraint violations, unknown fields and the error path helpers."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from playpipe.dictionary import (
    ValidationError,
    convert_event,
    decode_event,
    encode_event,
    error_field,
    error_reason,
    example_event,
)

ENVELOPE: dict[str, Any] = {
    "event_type": "heartbeat",
    "event_id": "e-1",
    "seq": 3,
    "client_ts": 1_732_579_200_000,
    "view_id": "v-1",
}


def rejected(**fields: Any) -> ValidationError:
    """Decode an envelope updated with ``fields`` and return the validation error."""
    with pytest.raises(ValidationError) as info:
        decode_event(json.dumps({**ENVELOPE, **fields}))
    return info.value


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"seq": -1}, "$.seq"),
        ({"client_ts": -5}, "$.client_ts"),
        ({"seq": "3"}, "$.seq"),
        ({"event_id": ""}, "$.event_id"),
        ({"event_id": "x" * 65}, "$.event_id"),
        ({"view_id": "v" * 129}, "$.view_id"),
        ({"schema_version": 2}, "$.schema_version"),
        ({"schema_version": 0}, "$.schema_version"),
        ({"source": "Not A Source"}, "$.source"),
        ({"skew_flagged": "yes"}, "$.skew_flagged"),
        ({"fluxdata": {"bitrate_kbps": -1}}, "$.fluxdata.bitrate_kbps"),
        ({"fluxdata": {"volume": 1.5}}, "$.fluxdata.volume"),
        ({"fluxdata": {"playhead_ms": 1.5}}, "$.fluxdata.playhead_ms"),
        ({"content": {"stream_type": "dvr"}}, "$.content.stream_type"),
        ({"device": {"type": "fridge"}}, "$.device.type"),
        ({"geo": {"country": "fra"}}, "$.geo.country"),
        ({"ad": {"quartile": 4}}, "$.ad.quartile"),
        ({"ad": {"position": "overlay"}}, "$.ad.position"),
        ({"network": {"asn": -3}}, "$.network.asn"),
        ({"error": {"code": "E", "severity": "critical"}}, "$.error.severity"),
        ({"error": {"code": "", "severity": "fatal"}}, "$.error.code"),
        ({"custom": {"k": [1]}}, "$.custom[...]"),
        ({"custom": {f"k{i}": i for i in range(51)}}, "$.custom"),
        ({"player": "hls.js"}, "$.player"),
    ],
)
def test_constraint_violations_name_the_field(fields: dict[str, Any], path: str) -> None:
    assert error_field(rejected(**fields)) == path


def test_custom_key_too_long() -> None:
    exc = rejected(custom={"k" * 65: 1})
    assert error_field(exc) == "$.custom"
    assert "key" in str(exc)


def test_bad_view_end_reason() -> None:
    exc = rejected(event_type="view_end", reason="closed")
    assert error_field(exc) == "$.reason"


def test_bad_severity_on_error_event() -> None:
    exc = rejected(event_type="error", error={"code": "E", "severity": "minor"})
    assert error_field(exc) == "$.error.severity"


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"bogus": 1}, "$.bogus"),
        ({"player": {"nmae": "x"}}, "$.player.nmae"),
        ({"fluxdata": {"bitrate": 1}}, "$.fluxdata.bitrate"),
    ],
)
def test_unknown_field_rejected_with_path(fields: dict[str, Any], path: str) -> None:
    exc = rejected(**fields)
    assert "unknown field" in str(exc)
    assert error_field(exc) == path


def test_segment_only_on_segment_response() -> None:
    assert error_field(rejected(segment={"kind": "video"})) == "$.segment"


def test_missing_field_path_names_the_field() -> None:
    assert error_field(rejected(event_type="error", error={"severity": "fatal"})) == "$.error.code"
    assert error_field(rejected(event_type="view_end")) == "$.reason"


def test_error_reason_strips_the_location() -> None:
    exc = rejected(fluxdata={"bitrate_kbps": -1})
    assert error_reason(exc) == "Expected `float` >= 0.0"
    assert error_reason(rejected(bogus=1)) == "Object contains unknown field `bogus`"


def test_error_field_of_batch_item() -> None:
    exc = ValidationError("Expected `int` >= 0 - at `$[4].seq`")
    assert error_field(exc) == "$[4].seq"


def test_error_field_without_location_is_root() -> None:
    with pytest.raises(ValidationError) as info:
        decode_event(b"[]")
    assert error_field(info.value) == "$"


def test_convert_event_validates_item_by_item() -> None:
    items: list[Any] = [
        json.loads(encode_event(example_event("playing"))),
        {**ENVELOPE, "seq": -1},
        "not an object",
    ]
    results: list[str] = []
    for item in items:
        try:
            results.append(type(convert_event(item)).__name__)
        except ValidationError as exc:
            results.append(error_field(exc))
    assert results == ["PlayingEvent", "$.seq", "$"]


def test_convert_event_is_strict() -> None:
    with pytest.raises(ValidationError):
        convert_event({**ENVELOPE, "seq": "3"})


def test_malformed_json_is_a_decode_error_not_a_validation_error() -> None:
    with pytest.raises(msgspec.DecodeError) as info:
        decode_event(b'{"event_type": ')
    assert not isinstance(info.value, ValidationError)


def test_decode_many_events() -> None:
    template = example_event("heartbeat", full=True)
    events = [msgspec.structs.replace(template, seq=i, event_id=f"e-{i}") for i in range(1000)]
    encoded = [encode_event(event) for event in events]
    decoded = [decode_event(data) for data in encoded]
    assert decoded == events
    assert [e.seq for e in decoded] == list(range(1000))
