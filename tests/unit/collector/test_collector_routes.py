"""Source routes: other wire formats' paths, with the collector's cheap checks only."""

from __future__ import annotations

import pytest

from playpipe.collector.routes import Frame, RequestFacts, SourceRoute, whole_body
from tests.unit.collector.harness import INVALID, RAW, client, make_app

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


LINE = b'e=ps,sid="s-1",sn=0,sta=s,ts=1700000000000,v=2'


def _headers(record_headers: list[tuple[str, bytes]]) -> dict[str, bytes]:
    return dict(record_headers)


async def test_cmcd_lines_become_raw_records_keyed_by_session() -> None:
    app, sink = make_app()
    body = LINE + b"\n" + LINE.replace(b"sn=0", b"sn=1") + b"\n\n"
    async with client(app) as http:
        response = await http.post(
            "/v1/cmcd?key=acme&x=1",
            content=body,
            headers={"content-type": "application/cmcd", "user-agent": "UA/1"},
        )
    assert response.status_code == 204
    raw = sink.on(RAW)
    assert [r.value for r in raw] == [LINE, LINE.replace(b"sn=0", b"sn=1")]
    assert {r.key for r in raw} == {b"s-1"}
    headers = _headers(raw[0].headers)
    assert headers["playpipe.format"] == b"cmcd"
    assert headers["playpipe.property"] == b"acme"
    assert headers["playpipe.query"] == b"x=1"
    assert headers["playpipe.user_agent"] == b"UA/1"
    assert headers["playpipe.client_ip"] == b"81.2.69.0"
    assert int(headers["playpipe.received_at"]) > 0


async def test_json_array_of_reports_is_split() -> None:
    app, sink = make_app()
    async with client(app) as http:
        response = await http.post(
            "/v1/cmcd",
            content=b'[{"e":"t","sid":"a","sn":0,"ts":1}, {"e":"t","sid":"b","sn":0,"ts":1}]',
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 204
    assert [r.key for r in sink.on(RAW)] == [b"a", b"b"]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "words"),
    [
        (b"", "application/cmcd", 400, "empty body"),
        (b"\n\n  \n", "application/cmcd", 400, "empty body"),
        (b"[1, 2", "application/json", 400, "JSON array"),
        (b"[" * 100_000, "application/json", 400, "JSON array"),
        (LINE, "application/xml", 415, "unsupported content type"),
    ],
)
async def test_bodies_refused_whole_are_explained_and_kept(
    body: bytes, content_type: str, status: int, words: str
) -> None:
    app, sink = make_app()
    async with client(app) as http:
        response = await http.post("/v1/cmcd", content=body, headers={"content-type": content_type})
    assert response.status_code == status
    assert words in response.json()["error"]
    assert not sink.on(RAW)
    [kept] = sink.on(INVALID)
    assert words in dict(kept.headers)["playpipe.reason"].decode()


async def test_key_required_unless_open() -> None:
    app, sink = make_app(open=False, property_keys=["acme"])
    async with client(app) as http:
        missing = await http.post("/v1/cmcd", content=LINE)
        wrong = await http.post("/v1/cmcd?key=other", content=LINE)
        right = await http.post("/v1/cmcd?key=acme", content=LINE)
    assert missing.status_code == 403 and "?key=" in missing.json()["error"]
    assert wrong.status_code == 403 and "unknown property key" in wrong.json()["error"]
    assert right.status_code == 204
    assert len(sink.on(RAW)) == 1


async def test_preflight_and_cors_echo_the_origin_with_credentials() -> None:
    app, _ = make_app(cors_origins=["https://player.example"])
    async with client(app) as http:
        preflight = await http.options(
            "/v1/cmcd/request", headers={"origin": "https://player.example"}
        )
        post = await http.post(
            "/v1/cmcd", content=LINE, headers={"origin": "https://player.example"}
        )
        refused = await http.post("/v1/cmcd", content=LINE, headers={"origin": "https://evil"})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-methods"] == "GET, POST, OPTIONS"
    assert "cmcd-request" in preflight.headers["access-control-allow-headers"]
    assert post.headers["access-control-allow-origin"] == "https://player.example"
    assert post.headers["access-control-allow-credentials"] == "true"
    assert refused.status_code == 403


async def test_wrong_method_and_spool_full() -> None:
    app, sink = make_app()
    async with client(app) as http:
        get = await http.get("/v1/cmcd")
        sink.full = True
        full = await http.post("/v1/cmcd", content=LINE)
    assert get.status_code == 405 and "POST, OPTIONS" in get.headers["allow"]
    assert full.status_code == 503 and full.headers["retry-after"]


async def test_request_mode_mirror_with_query_and_headers() -> None:
    app, sink = make_app()
    async with client(app) as http:
        by_query = await http.get(
            "/v1/cmcd/request", params={"CMCD": 'br=3200,sid="s-9",sn=4', "key": "k"}
        )
        by_headers = await http.get(
            "/v1/cmcd/request",
            headers={"CMCD-Session": 'sid="s-8",sf=h', "CMCD-Object": "br=800"},
        )
        nothing = await http.get("/v1/cmcd/request")
    assert by_query.status_code == 204 and by_headers.status_code == 204
    assert nothing.status_code == 400 and "no CMCD data" in nothing.json()["error"]
    first, second = sink.on(RAW)
    assert first.key == b"s-9" and second.key == b"s-8"
    assert dict(second.headers)["playpipe.http.cmcd-object"] == b"br=800"
    assert dict(second.headers)["playpipe.format"] == b"cmcd_request"


async def test_native_path_unchanged_and_unknown_paths_404() -> None:
    app, _ = make_app()
    async with client(app) as http:
        missing = await http.post("/v1/nothing", content=b"x")
    assert missing.status_code == 404


def test_route_header_forwarding_patterns() -> None:
    route = SourceRoute("/x", "x", forward_headers=("cmcd-*", "referer"))
    assert route.forwards("cmcd-status") and route.forwards("referer")
    assert not route.forwards("cookie")
    facts = RequestFacts("POST", "/x", "", "", {})
    assert whole_body(b"abc", facts) == [Frame(None, b"abc")]
    assert whole_body(b"", facts) == []
