"""Property-based: whatever arrives, no 5xx answer and no valid event lost."""

from __future__ import annotations

import asyncio
import gzip
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.collector.harness import INVALID, RAW, client, event, make_app, raw_events

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)

# Valid events with one field replaced by something of the wrong type or out of range.
FIELDS = [
    "seq",
    "client_ts",
    "view_id",
    "event_id",
    "fluxdata",
    "error",
    "player",
    "custom",
    "schema_version",
]
broken_events = st.builds(
    lambda field, value: {**event(), field: value}, st.sampled_from(FIELDS), json_values
)


def post(body: bytes, headers: dict[str, str]) -> tuple[int, Any, list[Any], list[Any]]:
    app, sink = make_app()

    async def run() -> tuple[int, Any]:
        async with client(app) as http:
            response = await http.post("/v1/events", content=body, headers=headers)
            return response.status_code, response.json()

    status, payload = asyncio.run(run())
    return status, payload, sink.on(RAW), sink.on(INVALID)


def deep(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.binary(max_size=2000),
    st.sampled_from(["application/json", "text/plain", "application/x-ndjson"]),
)
def test_arbitrary_bytes_never_5xx(data: bytes, content_type: str) -> None:
    status, payload, _, invalid = post(data, {"content-type": content_type})
    assert status in (202, 400, 413)
    assert isinstance(payload, dict)
    if status == 400:
        assert payload["error"]
        assert invalid and invalid[0].value == data[:65536]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.builds(event), broken_events, json_values), min_size=1, max_size=12))
def test_mixed_batches_keep_every_valid_event(items: list[Any]) -> None:
    valid_ids = [i["event_id"] for i in items if isinstance(i, dict) and _is_valid(i)]
    status, payload, raw, invalid = post(
        msgspec.json.encode(items), {"content-type": "application/json"}
    )
    assert status == 202
    accepted_ids = [e["event_id"] for e in raw_events(raw)]
    assert accepted_ids == valid_ids
    assert payload["accepted"] + len(payload["rejected"]) == len(items)
    assert len(invalid) == len(payload["rejected"])


def _is_valid(item: dict[str, Any]) -> bool:
    from playpipe.dictionary import ValidationError, convert_event

    try:
        convert_event(item)
    except ValidationError:
        return False
    return True


@settings(max_examples=50, deadline=None)
@given(st.binary(min_size=1, max_size=300))
def test_invalid_utf8_inside_strings_is_rejected_not_fatal(junk: bytes) -> None:
    body = (
        b'[{"event_type":"playing","event_id":"' + junk + b'","seq":1,"client_ts":1,"view_id":"v"}]'
    )
    status, _, _, _ = post(body, {"content-type": "application/json"})
    assert status in (202, 400)


def test_deep_nesting_and_huge_numbers() -> None:
    for body in (deep(10_000), b'[{"seq": 1' + b"0" * 5000 + b"}]", b"[" + b"9" * 100_000 + b"]"):
        status, _, _, _ = post(body, {"content-type": "application/json"})
        assert status in (202, 400, 413)


def test_gzip_of_garbage() -> None:
    status, _, _, _ = post(
        gzip.compress(b"\xff\x00garbage"),
        {"content-type": "application/json", "content-encoding": "gzip"},
    )
    assert status == 400
