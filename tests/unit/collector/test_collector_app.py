"""Every status the collector answers, with the real ASGI app in process."""

from __future__ import annotations

import gzip
import time

import msgspec
import pytest

from tests.unit.collector.harness import INVALID, RAW, UA_IPHONE, body, client, event, make_app

pytestmark = pytest.mark.anyio

JSON = {"content-type": "application/json"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_valid_batch_is_accepted_keyed_and_enriched() -> None:
    app, sink = make_app()
    events = [event(view_id="v1"), event("heartbeat", view_id="v1"), event(view_id="v2")]
    sent_at = int(time.time() * 1000)
    async with client(app) as http:
        response = await http.post(
            f"/v1/events?key=site-a&sent_at={sent_at}",
            content=body(*events),
            headers={**JSON, "user-agent": UA_IPHONE},
        )
    assert response.status_code == 202
    assert response.json() == {"accepted": 3, "rejected": []}
    raw = sink.on(RAW)
    assert [r.key for r in raw] == [b"v1", b"v2"]  # one record per view and request
    assert [e["event_id"] for e in sink.raw_events()] == [e["event_id"] for e in events]
    first = sink.raw_events()[0]
    assert first["event_id"] == events[0]["event_id"]
    assert first["property"] == "site-a"
    assert first["received_at"] >= sent_at
    assert "event_ts" in first
    assert first["device"]["type"] == "mobile" and first["device"]["os"] == "iOS"
    assert first["network"]["ip"] == "81.2.69.0"  # truncated to /24 before anything is stored


async def test_ndjson_and_text_plain_are_accepted() -> None:
    app, sink = make_app()
    ndjson = b"\n".join(msgspec.json.encode(e) for e in (event(), event())) + b"\n"
    async with client(app) as http:
        response = await http.post(
            "/v1/events", content=ndjson, headers={"content-type": "text/plain;charset=UTF-8"}
        )
    assert response.status_code == 202
    assert response.json()["accepted"] == 2
    assert len(sink.raw_events()) == 2


async def test_gzip_body() -> None:
    app, sink = make_app()
    async with client(app) as http:
        response = await http.post(
            "/v1/events",
            content=gzip.compress(body(event(), event())),
            headers={**JSON, "content-encoding": "gzip"},
        )
    assert response.status_code == 202
    assert len(sink.raw_events()) == 2


async def test_partial_batch_names_index_field_and_reason_and_keeps_the_bad_event() -> None:
    app, sink = make_app()
    bad_seq = event(seq=-4)
    unknown = {"event_type": "teleport", "event_id": "x", "view_id": "v9"}
    async with client(app) as http:
        response = await http.post(
            "/v1/events?key=k", content=body(event(), bad_seq, unknown), headers=JSON
        )
    assert response.status_code == 202
    result = response.json()
    assert result["accepted"] == 1
    assert [(r["index"], r["field"]) for r in result["rejected"]] == [
        (1, "$.seq"),
        (2, "$.event_type"),
    ]
    assert ">= 0" in result["rejected"][0]["reason"]
    invalid = sink.on(INVALID)
    assert len(invalid) == 2
    headers = dict(invalid[0].headers)
    assert headers["playpipe.field"] == b"$.seq"
    assert headers["playpipe.index"] == b"1"
    assert headers["playpipe.client_ip"] == b"81.2.69.0"
    assert msgspec.json.decode(invalid[0].value)["event_id"] == bad_seq["event_id"]
    assert invalid[1].key == b"v9"


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        (b'[{"event_type": "playing",', "truncated"),
        (b"[1, 2]]", "trailing characters (byte 7)"),
        (b"hello", "byte 0"),
        (b"", "empty body"),
        (b"{not json\n{also not\n", "line 1"),
    ],
)
async def test_unreadable_body_is_400_naming_the_place(payload: bytes, needle: str) -> None:
    app, sink = make_app()
    async with client(app) as http:
        response = await http.post("/v1/events", content=payload, headers=JSON)
    assert response.status_code == 400
    assert needle in response.json()["error"]
    kept = sink.on(INVALID)
    assert len(kept) == 1 and kept[0].value == payload
    assert dict(kept[0].headers)["playpipe.status"] == b"400"


async def test_bad_gzip_is_400() -> None:
    app, _ = make_app()
    async with client(app) as http:
        response = await http.post(
            "/v1/events", content=b"\x1f\x8bnot gzip", headers={**JSON, "content-encoding": "gzip"}
        )
    assert response.status_code == 400
    assert "gzip" in response.json()["error"]


async def test_body_over_the_limit_is_413_and_kept_truncated() -> None:
    app, sink = make_app(max_body_bytes=1000, invalid_body_cap_bytes=100)
    big = body(*[event() for _ in range(10)])
    async with client(app) as http:
        response = await http.post("/v1/events", content=big, headers=JSON)
    assert response.status_code == 413
    assert "1000 bytes" in response.json()["error"]
    kept = sink.on(INVALID)
    assert len(kept) == 1 and len(kept[0].value) <= 100


async def test_gzip_bomb_is_413() -> None:
    app, _ = make_app(max_body_bytes=10_000)
    bomb = gzip.compress(b"[" + b" " * 5_000_000 + b"]")
    async with client(app) as http:
        response = await http.post(
            "/v1/events", content=bomb, headers={**JSON, "content-encoding": "gzip"}
        )
    assert response.status_code == 413
    assert "decompressed" in response.json()["error"]


async def test_too_many_events_is_413() -> None:
    app, sink = make_app(max_events=3)
    async with client(app) as http:
        response = await http.post(
            "/v1/events", content=body(*[event() for _ in range(4)]), headers=JSON
        )
    assert response.status_code == 413
    assert "too many events: 4" in response.json()["error"]
    assert not sink.on(RAW)


@pytest.mark.parametrize("content_type", ["application/xml", "multipart/form-data; boundary=x"])
async def test_unsupported_content_type_is_415(content_type: str) -> None:
    app, _ = make_app()
    async with client(app) as http:
        response = await http.post(
            "/v1/events", content=body(event()), headers={"content-type": content_type}
        )
    assert response.status_code == 415
    assert "unsupported content type" in response.json()["error"]


async def test_unsupported_content_encoding_is_415() -> None:
    app, _ = make_app()
    async with client(app) as http:
        response = await http.post(
            "/v1/events", content=body(event()), headers={**JSON, "content-encoding": "br"}
        )
    assert response.status_code == 415


async def test_unknown_property_key_is_403_and_counted() -> None:
    app, sink = make_app(open=False, property_keys=["site-a"])
    async with client(app) as http:
        unknown = await http.post("/v1/events?key=site-b", content=body(event()), headers=JSON)
        missing = await http.post("/v1/events", content=body(event()), headers=JSON)
        known = await http.post("/v1/events?key=site-a", content=body(event()), headers=JSON)
        header = await http.post(
            "/v1/events", content=body(event()), headers={**JSON, "x-playpipe-key": "site-a"}
        )
        metrics = await http.get("/metrics")
    assert unknown.status_code == 403 and "site-b" in unknown.json()["error"]
    assert missing.status_code == 403
    assert known.status_code == 202 and header.status_code == 202
    assert len(sink.raw_events()) == 2
    assert 'playpipe_rejected_requests_total{status="403"}' in metrics.text


async def test_event_property_counts_when_the_batch_names_none() -> None:
    app, _ = make_app(open=False, property_keys=["site-a"])
    async with client(app) as http:
        response = await http.post(
            "/v1/events",
            content=body(event(property="site-a"), event(property="other")),
            headers=JSON,
        )
    assert response.status_code == 202
    assert response.json()["accepted"] == 1
    assert response.json()["rejected"][0]["field"] == "$.property"


async def test_rate_limit_per_key_answers_429_with_retry_after() -> None:
    app, _ = make_app(per_key_limit={"rate": 1.0, "burst": 2})
    async with client(app) as http:
        statuses = [
            (await http.post("/v1/events?key=k", content=body(event()), headers=JSON))
            for _ in range(3)
        ]
    assert [r.status_code for r in statuses] == [202, 202, 429]
    assert int(statuses[2].headers["retry-after"]) >= 1


async def test_rate_limit_per_ip() -> None:
    app, _ = make_app(per_ip_limit={"rate": 0.5, "burst": 1})
    async with client(app) as http:
        first = await http.post("/v1/events?key=a", content=body(event()), headers=JSON)
        second = await http.post("/v1/events?key=b", content=body(event()), headers=JSON)
    assert (first.status_code, second.status_code) == (202, 429)
    assert second.headers["retry-after"] == "2"


async def test_spool_full_is_503_with_retry_after() -> None:
    app, sink = make_app()
    sink.full = True
    sink.kafka_ok = False
    async with client(app) as http:
        response = await http.post("/v1/events", content=body(event()), headers=JSON)
        ready = await http.get("/readyz")
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) > 0
    assert ready.status_code == 503 and ready.json()["kafka"] == "unavailable"


async def test_cors_preflight_and_origin_allow_list() -> None:
    app, _ = make_app(cors_origins=["https://player.example"])
    async with client(app) as http:
        ok = await http.options(
            "/v1/events",
            headers={"origin": "https://player.example", "access-control-request-method": "POST"},
        )
        refused = await http.options("/v1/events", headers={"origin": "https://evil.example"})
        post = await http.post(
            "/v1/events",
            content=body(event()),
            headers={**JSON, "origin": "https://player.example"},
        )
        evil = await http.post(
            "/v1/events", content=body(event()), headers={**JSON, "origin": "https://evil.example"}
        )
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-origin"] == "https://player.example"
    assert "POST" in ok.headers["access-control-allow-methods"]
    assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers
    assert (
        post.status_code == 202
        and post.headers["access-control-allow-origin"] == "https://player.example"
    )
    assert post.headers["access-control-expose-headers"] == "retry-after"  # SDKs honour it
    assert evil.status_code == 403


async def test_operational_endpoints() -> None:
    app, _ = make_app()
    async with client(app) as http:
        health = await http.get("/healthz")
        ready = await http.get("/readyz")
        metrics = await http.get("/metrics")
        missing = await http.get("/nope")
        wrong_method = await http.get("/v1/events")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert ready.status_code == 200 and ready.json()["ready"] is True
    assert metrics.status_code == 200 and "playpipe_received_events_total" in metrics.text
    assert missing.status_code == 404
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "POST, OPTIONS"
