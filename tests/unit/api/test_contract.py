"""The store reads what the aggregator writes: its record structs decode field for field."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from playpipe.api.records import WINDOW_METRIC_FIELDS, decode_view, decode_window
from tests.unit.api.synth import view, window


def test_synthetic_records_carry_every_field() -> None:
    record = window(0, {"cdn": "a"})
    assert set(WINDOW_METRIC_FIELDS) <= set(record)
    decoded = decode_window(msgspec.json.encode(record))
    assert decoded.dimensions == {"cdn": "a"} and decoded.size_ms == 10_000


def test_unknown_and_missing_fields_are_tolerated() -> None:
    newer: dict[str, Any] = {"window": "1m", "window_start_ms": 5, "some_future_metric": 3}
    decoded = decode_window(msgspec.json.encode(newer))
    assert decoded.revision == 0 and decoded.starts == 0 and decoded.rebuffer_ratio is None
    older = decode_view(b'{"view_id": "v", "end_ms": 9, "fatal_error": {"code": "E"}}')
    assert older.fatal_error is not None and older.fatal_error.code == "E"


def test_aggregator_structs_decode() -> None:
    records = pytest.importorskip("playpipe.streams.records")
    view_record = msgspec.convert(view("v-1", 1000), records.ViewRecord)
    decoded_view = decode_view(msgspec.json.encode(view_record))
    assert decoded_view.view_id == "v-1" and decoded_view.asn == 3215
    fields = {f for f in records.WindowResult.__struct_fields__}
    assert set(WINDOW_METRIC_FIELDS) <= fields
    result = msgspec.convert(window(0, {"cdn": "a"}), records.WindowResult)
    decoded = decode_window(msgspec.json.encode(result))
    assert decoded.window_start_ms == 0 and decoded.dimensions == {"cdn": "a"}
