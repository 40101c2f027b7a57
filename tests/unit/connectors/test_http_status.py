"""HTTP status mapping, Retry-After, chunking and the webhook signature."""

from __future__ import annotations

import pytest

from playpipe.connectors.amplitude import rejected, to_amplitude
from playpipe.connectors.datadog import series_of
from playpipe.connectors.elasticsearch import item_error
from playpipe.connectors.http import chunks, classify, retry_after
from playpipe.connectors.webhook import encode_batch, sign, verify
from playpipe.errors import BackpressureError, TerminalError, TransientError


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422, 413, 409])
def test_client_errors_are_terminal(status: int) -> None:
    assert isinstance(classify(status, {}, "no"), TerminalError)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
def test_server_errors_and_timeouts_are_transient(status: int) -> None:
    assert isinstance(classify(status, {}, ""), TransientError)


def test_success_is_no_error() -> None:
    assert classify(200, {}, "") is None and classify(202, {}, "") is None


def test_429_is_backpressure_with_retry_after() -> None:
    error = classify(429, {"retry-after": "7"}, "")
    assert isinstance(error, BackpressureError) and error.retry_after == 7.0
    default = classify(429, {}, "")
    assert isinstance(default, BackpressureError) and default.retry_after == 1.0


def test_retry_after_as_an_http_date() -> None:
    assert retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert retry_after("nonsense") == 0.0 and retry_after(None) == 0.0


def test_chunks_respect_count_and_bytes() -> None:
    assert chunks([10] * 5, 2, 10_000) == [range(0, 2), range(2, 4), range(4, 5)]
    assert chunks([40, 40, 40], 100, 90) == [range(0, 2), range(2, 3)]
    assert chunks([500, 1], 100, 90) == [range(0, 1), range(1, 2)]
    assert chunks([], 10, 10) == []


def test_signature_is_hmac_sha256_over_timestamp_and_body() -> None:
    signature = sign("s3cret", "1700000000", b"[]")
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert verify("s3cret", "1700000000", b"[]", signature)
    assert not verify("s3cret", "1700000001", b"[]", signature)


def test_webhook_encodings() -> None:
    assert encode_batch([{"a": 1}, {"b": 2}], "json") == b'[{"a":1},{"b":2}]'
    assert encode_batch([{"a": 1}, {"b": 2}], "ndjson") == b'{"a":1}\n{"b":2}\n'


def test_bulk_items_are_classified_one_by_one() -> None:
    assert item_error({"index": {"status": 201}}) is None
    assert isinstance(item_error({"index": {"status": 429, "error": {}}}), BackpressureError)
    assert isinstance(item_error({"index": {"status": 503}}), TransientError)
    bad = item_error({"index": {"status": 400, "error": {"type": "mapper_parsing_exception"}}})
    assert isinstance(bad, TerminalError) and "mapper_parsing_exception" in str(bad)


def test_amplitude_mapping_and_rejections() -> None:
    event = to_amplitude(
        {
            "event_id": "e1",
            "event_type": "playing",
            "viewer_id": "viewer-1",
            "timestamp": 5,
            "device": {"os": "iOS"},
            "geo": {"country": "FR"},
        }
    )
    assert event["insert_id"] == "e1" and event["device_id"] == "viewer-1"
    assert event["time"] == 5 and event["os_name"] == "iOS" and event["country"] == "FR"
    answer = {
        "events_with_invalid_fields": {"time": [0, 2]},
        "events_with_missing_fields": {"event_type": [1]},
    }
    assert rejected(answer) == {
        0: "invalid_fields: time",
        2: "invalid_fields: time",
        1: "missing_fields: event_type",
    }


def test_datadog_series_from_a_window() -> None:
    window = {
        "window_start_ms": 1_700_000_000_000,
        "size_ms": 10_000,
        "revision": 2,
        "dimensions": {"country": "FR"},
        "plays": 3,
        "rebuffer_ratio": 0.01,
        "live": True,
    }
    series = series_of(window, "playpipe.qoe", ["env:test"])
    assert {s["metric"] for s in series} == {"playpipe.qoe.plays", "playpipe.qoe.rebuffer_ratio"}
    assert series[0]["points"] == [{"timestamp": 1_700_000_000, "value": 3}]
    assert series[0]["tags"] == ["env:test", "country:FR"] and series[0]["interval"] == 10
