"""Dead-letter headers: what they carry and how they read back."""

from __future__ import annotations

from playpipe.connectors.dlq import build_headers, parse_headers, source_of
from playpipe.errors import TerminalError
from tests.unit.connectors.fakes import record


def test_headers_carry_error_attempts_source_connector_and_time() -> None:
    rec = record(41)
    rec.partition = 3
    rec.headers = [("playpipe.format", b"native")]
    headers = build_headers(rec, TerminalError("HTTP 422: no"), 2, "hooks", now_ms=123)
    assert headers[0] == ("playpipe.format", b"native")
    assert parse_headers(headers) == {
        "playpipe.error.class": "TerminalError",
        "playpipe.error.message": "HTTP 422: no",
        "playpipe.error.attempts": "2",
        "playpipe.error.timestamp": "123",
        "playpipe.source.topic": "t.events",
        "playpipe.source.partition": "3",
        "playpipe.source.offset": "41",
        "playpipe.connector": "hooks",
    }


def test_dead_lettering_again_replaces_the_old_headers_and_keeps_the_source() -> None:
    rec = record(5)
    first = build_headers(rec, TerminalError("a"), 1, "hooks", now_ms=1)
    rec.headers = first
    rec.source = source_of(parse_headers(first))
    rec.topic, rec.offset = "t.dlq.hooks", 0
    second = build_headers(rec, TerminalError("b"), 2, "hooks", now_ms=2)
    parsed = parse_headers(second)
    assert len(second) == len(first)
    assert parsed["playpipe.error.message"] == "b"
    assert source_of(parsed) == ("t.events", 0, 5)


def test_long_messages_are_cut() -> None:
    headers = parse_headers(build_headers(record(1), TerminalError("x" * 10_000), 1, "c"))
    assert len(headers["playpipe.error.message"]) == 4000
