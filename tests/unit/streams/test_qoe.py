"""The metric registry matches docs/metrics.md, and Mux's score formulas its published examples."""

from __future__ import annotations

import math
import re
from pathlib import Path

import msgspec
import pytest

from playpipe.streams import qoe
from playpipe.streams.records import ViewRecord, WindowResult
from tests.unit.streams.scripts import one_view

DOC = Path(__file__).parents[3] / "docs" / "metrics.md"


def _table_names(section: str) -> set[str]:
    """Backticked names in the first column of the first table under a ``## <section>``."""
    text = DOC.read_text()
    start = text.index(f"## {section}")
    rows = []
    for line in text[start:].splitlines()[1:]:
        if line.startswith("## "):
            break
        if line.startswith("|"):
            rows.append(line)
        elif rows:
            break  # the first table ended
    names: set[str] = set()
    for row in rows[2:]:
        names.update(re.findall(r"`([a-z0-9_]+)`", row.split("|")[1]))
    return names


def test_every_view_metric_is_in_the_doc_and_back() -> None:
    registry = {m.name for m in qoe.VIEW_METRICS}
    assert registry == _table_names("Per view")


def test_every_window_metric_is_in_the_doc_and_back() -> None:
    registry = {m.name for m in qoe.WINDOW_METRICS}
    assert registry == _table_names("Per window")


def test_every_registered_metric_is_a_field_of_its_record() -> None:
    view_fields = set(ViewRecord.__struct_fields__)
    window_fields = set(WindowResult.__struct_fields__)
    assert {m.name for m in qoe.VIEW_METRICS} <= view_fields
    assert {m.name for m in qoe.WINDOW_METRICS} <= window_fields


def test_ratios_name_their_denominator() -> None:
    for m in qoe.METRICS.values():
        if m.unit in ("%", "fraction"):
            assert m.denominator, m.name
    assert qoe.metric("window", "playback_failure_pct").denominator == "starts_active"
    with pytest.raises(KeyError):
        qoe.metric("view", "nope")


@pytest.mark.parametrize(
    ("startup_ms", "score"), [(400, 95), (2000, 80), (8000, 50), (20_000, 29), (0, 100)]
)
def test_startup_score_matches_mux_examples(startup_ms: int, score: int) -> None:
    assert round(qoe.startup_score(startup_ms)) == score


def test_smoothness_five_minutes_with_one_five_second_rebuffer() -> None:
    # Mux publishes "average of 80 and 90 = 85". The count curve gives 89.4; the percentage
    # curve gives 100·e^(-10·5/305) = 84.9, not 80 (Mux's rounding), hence 87.2, not 85.
    score = qoe.smoothness_score(1, 5000, 305_000)
    assert score == pytest.approx((100 / math.sqrt(1.25) + 100 * math.exp(-50 / 305)) / 2)
    assert score == pytest.approx(85, abs=2.5)


def test_smoothness_twenty_minutes_with_four_fifteen_second_rebuffers() -> None:
    # Mux: "average of 44 and 60 = 54"; the formula gives 44.7 and 62.1.
    assert qoe.smoothness_score(4, 60_000, 1_260_000) == pytest.approx(53.4, abs=0.1)


def test_smoothness_without_rebuffering_is_100() -> None:
    assert qoe.smoothness_score(0, 0, 60_000) == 100
    assert qoe.smoothness_score(0, 0, 0) == 100


def test_smoothness_of_a_played_view_matches_the_example() -> None:
    beats = [(t, "heartbeat") for t in range(10_000, 300_000, 10_000) if t not in (100_000,)]
    steps = [
        (0, "view_start"),
        (0, "play_requested"),
        (0, "first_frame"),
        (100_000, "rebuffer_start"),
        (105_000, "rebuffer_end"),
        *beats,
        (305_000, "ended"),
        (305_000, "view_end"),
    ]
    record = one_view(sorted(steps, key=lambda s: s[0]))
    assert record.playing_time_ms == 300_000
    assert record.watch_time_ms == 305_000
    assert record.smoothness_score == pytest.approx(qoe.smoothness_score(1, 5000, 305_000))


def test_success_and_experience() -> None:
    assert qoe.success_score("ended") == 100
    assert qoe.success_score("abandoned") == 100
    assert qoe.success_score("exit_before_start") == 50
    assert qoe.success_score("start_failure") == 0
    assert qoe.success_score("playback_failure") == 0
    assert qoe.success_score("business_failure") is None
    assert qoe.success_score("no_attempt") is None
    assert qoe.experience_score(100, 80, 90) == 85
    assert qoe.experience_score(0, 80, 90) == 0
    assert qoe.experience_score(50, None, None) == 50
    assert qoe.experience_score(None, 80, 90) is None


def test_nearest_rank() -> None:
    values = list(range(1, 21))  # 1..20
    assert qoe.nearest_rank(values, 50) == 10
    assert qoe.nearest_rank(values, 90) == 18
    assert qoe.nearest_rank(values, 95) == 19
    assert qoe.nearest_rank([7], 95) == 7
    assert qoe.nearest_rank([], 50) is None
    assert qoe.nearest_rank([1, 2, 3], 50) == 2


def test_records_encode_as_json() -> None:
    record = one_view([(0, "play_requested"), (500, "first_frame"), (9000, "view_end")])
    decoded = msgspec.json.decode(msgspec.json.encode(record), type=ViewRecord)
    assert decoded == record
