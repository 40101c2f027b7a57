"""Every endpoint of the API app over a store filled directly (no Kafka)."""

from __future__ import annotations

from typing import Any

import pytest

from playpipe.api.store import MetricsStore
from tests.unit.api.conftest import FIRST
from tests.unit.api.harness import NOW, client, fill
from tests.unit.api.synth import view, window

RANGE = f"from={FIRST}&to={NOW}"


def get(store: MetricsStore, url: str, status: int = 200) -> Any:
    response = client(store).get(url)
    assert response.status_code == status, response.text
    return response.json()


def test_series_of_all_views(filled: MetricsStore) -> None:
    body = get(filled, f"/v1/metrics?name=starts,startup_time_p95_ms,rebuffer_ratio&{RANGE}")
    assert body["window"] == "10s" and body["dimension_set"] == [] and body["exact"] is True
    assert body["metrics"]["startup_time_p95_ms"] == {"unit": "ms", "label": "Startup time p95"}
    (series,) = body["series"]
    assert series["group"] == {}
    assert len(series["t"]) == 60 and series["t"][0] == FIRST
    assert all(v > 0 for v in series["values"]["starts"])
    stored = filled.query(
        "SELECT starts, rebuffer_ratio FROM windows WHERE dim_set = '' ORDER BY window_start_ms"
    )
    assert series["values"]["starts"] == [s for s, _ in stored]
    assert series["values"]["rebuffer_ratio"] == pytest.approx([r for _, r in stored])


def test_empty_store_answers_empty(store: MetricsStore) -> None:
    body = get(store, "/v1/metrics?by=cdn&filter=country:FR")
    assert body["series"] == [] and body["groups_total"] == 0
    assert get(store, "/v1/views")["views"] == []


def test_breakdown_uses_the_exact_set(filled: MetricsStore) -> None:
    body = get(filled, f"/v1/metrics?name=attempts&by=cdn&{RANGE}")
    assert body["dimension_set"] == ["cdn"] and body["exact"] is True
    assert {s["group"]["cdn"] for s in body["series"]} == {"akamai", "fastly", "cloudfront"}


def test_rollup_from_a_finer_set_matches_stored_counts(filled: MetricsStore) -> None:
    """by=cdn with a country filter needs the cdn,country,device_type set, summed."""
    body = get(filled, f"/v1/metrics?by=cdn&filter=country:FR&{RANGE}&shape=total")
    assert body["dimension_set"] == ["cdn", "country", "device_type"]
    assert body["exact"] is False  # percentiles are weighted means over device types
    rows = {r["group"]["cdn"]: r["values"] for r in body["rows"]}
    (fastly_attempts,) = filled.query(
        "SELECT sum(attempts) FROM windows WHERE dim_set = 'cdn,country,device_type' "
        "AND dims['cdn'] = 'fastly' AND dims['country'] = 'FR'"
    )[0]
    assert rows["fastly"]["attempts"] == fastly_attempts
    # percentages are recomputed from the summed counts: exact
    v = rows["fastly"]
    assert v["start_failure_pct"] == pytest.approx(v["start_failures"] / v["attempts"] * 100)
    # the slow CDN shows in the breakdown
    assert rows["fastly"]["startup_time_p50_ms"] > rows["akamai"]["startup_time_p50_ms"]


def test_rollup_equals_the_coarse_set(filled: MetricsStore) -> None:
    """Summing the finest set gives what the cdn set stores, for additive metrics."""
    names = "attempts,starts,concurrent_viewers,rebuffer_ratio,playback_failure_pct"
    exact = get(filled, f"/v1/metrics?name={names}&by=cdn&{RANGE}&shape=total")
    rolled = get(
        filled,
        f"/v1/metrics?name={names}&by=cdn&filter=device_type:desktop,device_type:mobile,"
        f"device_type:tv&{RANGE}&shape=total",
    )
    assert rolled["dimension_set"] == ["cdn", "country", "device_type"]
    for a, b in zip(exact["rows"], rolled["rows"], strict=True):
        assert a["group"] == b["group"]
        assert a["values"] == pytest.approx(b["values"])


def test_total_takes_peak_concurrency(filled: MetricsStore) -> None:
    series = get(filled, f"/v1/metrics?name=concurrent_viewers&{RANGE}")["series"][0]
    total = get(filled, f"/v1/metrics?name=concurrent_viewers&{RANGE}&shape=total")["rows"][0]
    assert total["values"]["concurrent_viewers"] == max(series["values"]["concurrent_viewers"])
    assert total["points"] == 60


def test_time_range_and_window_choice(filled: MetricsStore) -> None:
    body = get(filled, f"/v1/metrics?name=starts&from={NOW - 60_000}&to={NOW}")
    assert len(body["series"][0]["t"]) == 6
    assert get(filled, "/v1/metrics?name=starts&from=-5m")["series"][0]["t"][0] == NOW - 300_000
    fill(filled, [window(NOW - 60_000, {}, "1m", starts=4)])
    body = get(filled, "/v1/metrics?name=starts&window=1m&from=-5m")
    assert body["series"][0]["values"]["starts"] == [4]


def test_corrections_replace_earlier_values(store: MetricsStore) -> None:
    fill(store, [window(NOW - 10_000, {}, revision=0, starts=2, start_failures=1, attempts=2)])
    fill(store, [window(NOW - 10_000, {}, revision=1, starts=5, start_failures=1, attempts=10)])
    values = get(store, "/v1/metrics?name=starts,start_failure_pct&from=-1m")["series"][0]
    assert values["values"] == {"starts": [5], "start_failure_pct": [10.0]}


@pytest.mark.parametrize(
    ("query", "parameter", "allowed"),
    [
        ("name=startz", "name", "starts"),
        ("window=5m", "window", "10s"),
        ("by=planet", "by", "cdn"),
        ("filter=cdn", "filter", "cdn"),
        ("filter=planet:mars", "filter", "cdn"),
        ("from=yesterday", "from", None),
        ("from=-1m&to=-2m", "from", None),
        ("shape=pie", "shape", "total"),
        ("limit=0", "limit", None),
        ("windw=10s", "windw", "window"),
        ("by=isp", "by", "cdn"),  # a dimension no stored set has
    ],
)
def test_bad_metrics_parameters(
    filled: MetricsStore, query: str, parameter: str, allowed: str | None
) -> None:
    body = get(filled, f"/v1/metrics?{query}", 400)
    assert body["error"] == "bad_parameter"
    assert body["parameter"] == parameter
    assert f"`{parameter}`" in body["message"] or "dimension set" in body["message"]
    if allowed:
        assert allowed in body["allowed"]


def test_views_list_filter_order_limit(filled: MetricsStore) -> None:
    body = get(filled, "/v1/views?limit=5")
    ends = [v["end_ms"] for v in body["views"]]
    assert len(ends) == 5 and ends == sorted(ends, reverse=True)
    body = get(filled, "/v1/views?filter=cdn:fastly&outcome=start_failure&limit=1000")
    assert body["views"] and all(
        v["dimensions"]["cdn"] == "fastly" and v["outcome"] == "start_failure"
        for v in body["views"]
    )
    assert all(v["error_code"] for v in body["views"])
    scores = [
        v["experience_score"] for v in get(filled, "/v1/views?order=experience_score")["views"]
    ]
    assert scores == sorted(scores)


@pytest.mark.parametrize(
    ("query", "parameter"),
    [("order=colour", "order"), ("outcome=won", "outcome"), ("limit=5000", "limit")],
)
def test_bad_views_parameters(filled: MetricsStore, query: str, parameter: str) -> None:
    assert get(filled, f"/v1/views?{query}", 400)["parameter"] == parameter


def test_one_view_with_its_timeline(store: MetricsStore) -> None:
    fill(store, views=[view("v-42", NOW, rebuffering_time_ms=3000)])
    body = get(store, "/v1/views/v-42")
    assert body["view"]["view_id"] == "v-42" and body["view"]["asn"] == 3215
    timeline = body["timeline"]
    assert timeline["source"] == "summary"
    assert [s["state"] for s in timeline["segments"]] == ["idle", "startup", "after_first_frame"]
    assert [m["event"] for m in timeline["milestones"]] == [
        "view_start",
        "play_intent",
        "first_frame",
        "view_end",
    ]
    assert timeline["state_ms"]["rebuffering"] == 3000
    assert get(store, "/v1/views/nope", 404)["error"] == "not_found"


def test_carried_timeline_is_shown_as_is(store: MetricsStore) -> None:
    segments = [{"state": "playing", "start_ms": NOW - 5000, "end_ms": NOW}]
    fill(store, views=[view("v-t", NOW, timeline=segments)])
    timeline = get(store, "/v1/views/v-t")["timeline"]
    assert timeline["source"] == "record" and timeline["segments"] == segments


def test_dimension_values(filled: MetricsStore) -> None:
    body = get(filled, "/v1/dimensions/cdn")
    values = {v["value"]: v["views"] for v in body["values"]}
    assert set(values) == {"akamai", "fastly", "cloudfront"}
    assert sum(values.values()) == 80
    device = get(filled, "/v1/dimensions/device_type?from=-1h")
    assert {v["value"] for v in device["values"]} == {"desktop", "mobile", "tv"}
    bad = get(filled, "/v1/dimensions/planet", 400)
    assert bad["parameter"] == "name" and "cdn" in bad["allowed"]


def test_dimension_sets_listed(filled: MetricsStore) -> None:
    body = get(filled, "/v1/dimensions")
    assert body["windows"] == ["10s", "1m"] and body["default_window"] == "10s"
    assert ["cdn", "country", "device_type"] in body["dimension_sets"]["10s"]
    assert {"cdn", "property", "asn"} <= set(body["dimensions"])


def test_top_errors(filled: MetricsStore) -> None:
    body = get(filled, "/v1/errors?from=-1h")
    codes = [e["code"] for e in body["errors"]]
    assert set(codes) <= {"MEDIA_ERR_NETWORK", "DRM_LICENSE"} and codes
    counts = [e["views"] for e in body["errors"]]
    assert counts == sorted(counts, reverse=True)
    assert body["errors"][0]["message"] in ("network error", "license refused")


def test_health_metrics_and_dashboard(filled: MetricsStore) -> None:
    api = client(filled)
    health = api.get("/healthz")
    assert health.status_code == 200 and health.json()["ingest"] == "off"
    api.get("/v1/views")
    text = api.get("/metrics").text
    assert 'playpipe_api_requests_total{endpoint="views",status="200"}' in text
    page = api.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "default-src 'self'" in page.headers["content-security-policy"]


# -- tokens ---------------------------------------------------------------------------
def test_non_loopback_needs_a_token(filled: MetricsStore) -> None:
    api = client(filled, host="0.0.0.0", tokens={"t0k3n": ["*"]})
    for url in ("/v1/metrics", "/v1/views", "/v1/views/x", "/v1/dimensions/cdn", "/v1/errors"):
        response = api.get(url)
        assert response.status_code == 401, url
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert api.get("/v1/live").status_code == 401
    assert api.get("/v1/views", {"Authorization": "Bearer wrong"}).status_code == 401
    ok = api.get("/v1/views?limit=3", {"Authorization": "Bearer t0k3n"})
    assert ok.status_code == 200 and len(ok.json()["views"]) == 3
    assert api.get("/healthz").status_code == 200  # liveness stays open


def test_token_limited_to_its_properties(store: MetricsStore) -> None:
    from tests.unit.api.synth import synthetic_views, synthetic_windows

    fill(
        store,
        synthetic_windows(FIRST, 6, finest=("property", "cdn"), sets=([], ["property", "cdn"])),
        synthetic_views(NOW, 40),
    )
    api = client(store, host="10.0.0.1", tokens={"all": ["*"], "a-only": ["site-a"]})
    a_only = {"Authorization": "Bearer a-only"}
    views = api.get("/v1/views?limit=1000", a_only).json()["views"]
    assert views and {v["dimensions"]["property"] for v in views} == {"site-a"}
    everything = api.get("/v1/views?limit=1000", {"Authorization": "Bearer all"}).json()
    assert len(everything["views"]) == 40 > len(views)
    body = api.get("/v1/metrics?name=attempts&by=cdn&shape=total&from=-1h", a_only).json()
    assert body["dimension_set"] == ["cdn", "property"]
    stored = store.query("SELECT sum(attempts) FROM windows WHERE dims['property'] = 'site-a'")[0][
        0
    ]
    assert sum(r["values"]["attempts"] for r in body["rows"]) == stored
    props = api.get("/v1/dimensions/property", a_only).json()["values"]
    assert [p["value"] for p in props] == ["site-a"]
    other = next(v for v in everything["views"] if v["dimensions"]["property"] == "site-b")
    assert api.get(f"/v1/views/{other['view_id']}", a_only).status_code == 404


def test_token_without_a_property_set_is_refused(filled: MetricsStore) -> None:
    api = client(filled, host="10.0.0.1", tokens={"a-only": ["site-a"]})
    response = api.get("/v1/metrics?by=cdn", {"Authorization": "Bearer a-only"})
    assert response.status_code == 403
    assert "property" in response.json()["message"]


def test_openapi_documents_every_route(store: MetricsStore) -> None:
    from pathlib import Path

    from starlette.routing import Route

    spec = (Path(__file__).resolve().parents[3] / "docs" / "openapi.yaml").read_text()
    routes = [r.path for r in client(store).app.routes if isinstance(r, Route)]
    assert len(routes) >= 9
    for path in routes:
        assert f"\n  {path}:\n" in spec, path
