"""Aggregation settings: documented defaults, durations, and errors that name the key."""

from __future__ import annotations

import msgspec
import pytest

from playpipe.streams.aggsettings import DIMENSIONS, AggregationSettings, parse_duration


def test_defaults_are_the_documented_ones() -> None:
    s = AggregationSettings()
    assert s.windows == ["10s", "1m"]
    assert s.window_sizes_ms == [10_000, 60_000]
    assert (s.grace_ms, s.late_grace_ms, s.reorder_ms) == (5000, 60_000, 2000)
    assert (s.view_timeout_ms, s.concurrency_timeout_ms) == (60_000, 25_000)
    assert s.dimension_sets == [
        [],
        ["cdn"],
        ["country"],
        ["device_type"],
        ["cdn", "country", "device_type"],
    ]
    assert s.custom_dimensions == []
    assert s.all_dimensions == DIMENSIONS


@pytest.mark.parametrize(
    ("text", "ms"), [("500ms", 500), ("10s", 10_000), ("1m", 60_000), ("1h", 3_600_000)]
)
def test_durations(text: str, ms: int) -> None:
    assert parse_duration(text) == ms


@pytest.mark.parametrize("text", ["", "10", "0s", "1.5s", "10 s", "1d", "-1m", "s"])
def test_invalid_durations(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"windows": []}, "windows"),
        ({"windows": ["10s", "10000ms"]}, "windows"),
        ({"windows": ["ten seconds"]}, "duration"),
        ({"windows": ["10s", "2h"]}, "windows: at most 1h"),
        ({"grace_ms": 1000}, "grace_ms"),
        ({"dimension_sets": [["planet"]]}, "dimension_sets"),
        ({"dimension_sets": [["cdn", "cdn"]]}, "dimension_sets"),
        ({"dimension_sets": [["cdn"], ["cdn"]]}, "dimension_sets"),
        ({"custom_dimensions": ["cdn"]}, "custom_dimensions"),
        ({"custom_dimensions": ["bad key"]}, "custom_dimensions"),
    ],
)
def test_invalid_settings_name_the_key(fields: dict[str, object], key: str) -> None:
    with pytest.raises(ValueError, match=key):
        AggregationSettings(**fields)  # type: ignore[arg-type]


def test_decoding_rejects_unknown_keys_and_checks_values() -> None:
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        msgspec.json.decode(b'{"window": ["10s"]}', type=AggregationSettings)
    with pytest.raises(msgspec.ValidationError, match="grace_ms"):
        msgspec.json.decode(b'{"grace_ms": 10}', type=AggregationSettings)
    s = msgspec.json.decode(
        b'{"windows": ["5s"], "custom_dimensions": ["experiment"],'
        b' "dimension_sets": [["experiment", "cdn"]]}',
        type=AggregationSettings,
    )
    assert s.all_dimensions[-1] == "experiment"
