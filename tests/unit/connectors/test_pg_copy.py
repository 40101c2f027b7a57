"""COPY text lines of typed event rows: escapes, NULLs, times, extra fields, bad records."""

from __future__ import annotations

from typing import Any

from playpipe.connectors.base import Record
from playpipe.connectors.pg_copy import LineEncoder, timestamp
from playpipe.connectors.pg_schema import event_columns
from playpipe.errors import TerminalError

COLUMNS = event_columns()
NAMES = [c.name for c in COLUMNS]


def record(data: dict[str, Any], offset: int = 7) -> Record:
    return Record(data, b"", None, "pp.events", 2, offset, 0)


def fields(line: str) -> dict[str, str]:
    values = line.split("\t")
    assert len(values) == len(NAMES) + 4
    return dict(zip([*NAMES, "extra", "_topic", "_partition", "_offset"], values, strict=True))


def test_a_line_has_every_column_in_order_with_nulls_and_origin() -> None:
    line = LineEncoder(COLUMNS).line(
        record({"event_id": "e1", "event_type": "heartbeat", "seq": 3})
    )
    got = fields(line)
    assert got["event_id"] == "e1" and got["event_type"] == "heartbeat" and got["seq"] == "3"
    assert got["view_id"] == "\\N" and got["player"] == "\\N" and got["extra"] == "\\N"
    assert (got["_topic"], got["_partition"], got["_offset"]) == ("pp.events", "2", "7")


def test_text_and_json_are_escaped_for_copy() -> None:
    data = {
        "event_id": "e\t1\\x",
        "view_id": "line\nbreak\r",
        "player": {"name": 'a"b\\c\td'},
        "skew_flagged": True,
    }
    got = fields(LineEncoder(COLUMNS).line(record(data)))
    assert got["event_id"] == "e\\t1\\\\x"
    assert got["view_id"] == "line\\nbreak\\r"
    # JSON escapes the tab and the quote; COPY doubles every backslash of it
    assert got["player"] == '{"name":"a\\\\"b\\\\\\\\c\\\\td"}'
    assert got["skew_flagged"] == "t"


def test_times_are_utc_timestamps_with_milliseconds() -> None:
    assert timestamp(1_732_579_200_020) == "2024-11-26 00:00:00.020+00"
    assert timestamp(-1) == "1969-12-31 23:59:59.999+00"
    got = fields(LineEncoder(COLUMNS).line(record({"event_id": "e", "client_ts": 1_000})))
    assert got["client_ts"] == "1970-01-01 00:00:01.000+00"


def test_fields_without_a_column_go_to_extra() -> None:
    data = {"event_id": "e", "reason": "ended", "segment": {"url": "https://cdn/x.ts"}}
    got = fields(LineEncoder(COLUMNS).line(record(data)))
    assert got["extra"] == '{"reason":"ended","segment":{"url":"https://cdn/x.ts"}}'


def test_a_record_that_cannot_be_encoded_fails_alone() -> None:
    good, bad = record({"event_id": "a"}, 1), record({"event_id": "b", "event_ts": 10**20}, 2)
    body, kept, failed = LineEncoder(COLUMNS).encode([good, bad])
    assert kept == [good]
    assert [r for r, _ in failed] == [bad] and isinstance(failed[0][1], TerminalError)
    assert body.count(b"\n") == 1 and body.startswith(b"a\t")


def test_values_of_the_wrong_type_are_left_for_postgresql() -> None:
    got = fields(LineEncoder(COLUMNS).line(record({"event_id": "e", "seq": "x", "view_id": 5})))
    assert got["seq"] == "x" and got["view_id"] == "5"
