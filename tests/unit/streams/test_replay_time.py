"""The times ``playpipe replay --from-raw`` takes."""

from __future__ import annotations

import pytest

from playpipe.streams.replay_raw import ReplayTimeError, parse_time

NOW = 1_800_000_000_000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1732579200000", 1_732_579_200_000),
        ("2024-11-26T00:00:00Z", 1_732_579_200_000),
        ("2024-11-26T01:00:00+01:00", 1_732_579_200_000),
        ("90m", NOW - 90 * 60_000),
        ("2h", NOW - 7_200_000),
        ("1d", NOW - 86_400_000),
        ("30s", NOW - 30_000),
    ],
)
def test_times(text: str, expected: int) -> None:
    assert parse_time(text, now_ms=NOW) == expected


@pytest.mark.parametrize("text", ["yesterday", "2024-11-26T00:00:00", "-5m", ""])
def test_a_bad_time_names_the_forms(text: str) -> None:
    with pytest.raises(ReplayTimeError, match="time"):
        parse_time(text, now_ms=NOW)
