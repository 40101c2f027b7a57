"""Enricher: one context per request, applied to every event dict before validation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from playpipe.collector.enrich import BatchContext, Enricher, EnrichSettings
from playpipe.dictionary import DeviceNode, GeoNode, convert_event
from playpipe.errors import ConfigError
from tests.unit.collector.geodb import write_asn_db, write_city_db

NOW = 1_732_579_200_000
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def event(**fields: Any) -> dict[str, Any]:
    return {
        "event_type": "heartbeat",
        "event_id": "e-1",
        "seq": 3,
        "client_ts": NOW - 1_500,
        "view_id": "v-1",
        **fields,
    }


@pytest.fixture
def enricher(tmp_path: Path) -> Iterator[Enricher]:
    settings = EnrichSettings(
        geoip_city_db=str(write_city_db(tmp_path)),
        geoip_asn_db=str(write_asn_db(tmp_path)),
        trusted_proxies=["10.0.0.0/8"],
    )
    enricher = Enricher(settings)
    yield enricher
    enricher.close()


@pytest.fixture
def ctx(enricher: Enricher) -> BatchContext:
    return enricher.context("10.0.0.5", "81.2.69.160", IPHONE)


def test_context(ctx: BatchContext) -> None:
    assert ctx.ip == "81.2.69.0"
    assert ctx.geo == GeoNode(country="GB", region="ENG", city="London", continent="EU")
    assert (ctx.asn, ctx.isp) == (20712, "Andrews & Arnold Ltd")
    assert ctx.device is not None
    assert ctx.device.type == "mobile"


def test_apply_fills_an_event_that_has_nothing(enricher: Enricher, ctx: BatchContext) -> None:
    item = event()
    enricher.apply(item, ctx, received_at=NOW, sent_at=NOW - 200)
    typed = convert_event(item)
    assert typed.received_at == NOW
    assert typed.event_ts == NOW - 1_300
    assert typed.skew_flagged is False
    assert typed.device == DeviceNode(
        type="mobile",
        os="iOS",
        os_version="17.5",
        browser="Mobile Safari",
        browser_version="17.5",
        model="iPhone",
        manufacturer="Apple",
    )
    assert typed.geo == GeoNode(country="GB", region="ENG", city="London", continent="EU")
    assert typed.network is not None
    assert (typed.network.ip, typed.network.asn, typed.network.isp) == (
        "81.2.69.0",
        20712,
        "Andrews & Arnold Ltd",
    )


def test_client_device_fields_win_by_group(enricher: Enricher, ctx: BatchContext) -> None:
    item = event(device={"type": "tv", "os": "tvOS", "model": None, "user_agent": "native"})
    enricher.apply(item, ctx, NOW, NOW)
    assert item["device"] == {
        "type": "tv",  # kept
        "os": "tvOS",  # kept, and not paired with the header's os_version
        "model": "iPhone",  # null counts as missing: the group is filled
        "manufacturer": "Apple",
        "browser": "Mobile Safari",
        "browser_version": "17.5",
        "user_agent": "native",
    }
    convert_event(item)


def test_collector_fields_are_never_trusted_from_clients(
    enricher: Enricher, ctx: BatchContext
) -> None:
    item = event(received_at=1, event_ts=2, skew_flagged=True)
    enricher.apply(item, ctx, NOW, NOW)
    assert (item["received_at"], item["event_ts"], item["skew_flagged"]) == (
        NOW,
        NOW - 1_500,
        False,
    )


def test_network_ip_is_replaced_other_network_fields_kept(
    enricher: Enricher, ctx: BatchContext
) -> None:
    item = event(network={"ip": "81.2.69.160", "cdn": "akamai", "connection_type": "wifi"})
    enricher.apply(item, ctx, NOW, NOW)
    assert item["network"] == {
        "ip": "81.2.69.0",
        "asn": 20712,
        "isp": "Andrews & Arnold Ltd",
        "cdn": "akamai",
        "connection_type": "wifi",
    }


def test_geo_from_the_lookup_replaces_the_client_one(enricher: Enricher, ctx: BatchContext) -> None:
    item = event(geo={"country": "US"})
    enricher.apply(item, ctx, NOW, NOW)
    assert item["geo"]["country"] == "GB"


def test_unknown_address_keeps_client_geo_and_asn(enricher: Enricher) -> None:
    ctx = enricher.context("192.0.2.44", None, None)
    item = event(geo={"country": "US"}, network={"ip": "192.0.2.44", "asn": 7})
    enricher.apply(item, ctx, NOW, NOW)
    assert item["geo"] == {"country": "US"}
    assert item["network"] == {"ip": "192.0.2.0", "asn": 7}
    assert "device" not in item


def test_untrusted_peer_cannot_forge_its_address(enricher: Enricher) -> None:
    ctx = enricher.context("198.51.100.23", "81.2.69.160", IPHONE)
    assert ctx.ip == "198.51.100.0"
    assert ctx.geo is None


def test_skew_flag_and_bad_client_ts(enricher: Enricher, ctx: BatchContext) -> None:
    no_sent_at = event()
    enricher.apply(no_sent_at, ctx, NOW, None)
    assert (no_sent_at["event_ts"], no_sent_at["skew_flagged"]) == (NOW, True)
    wrong_type = event(client_ts="yesterday")
    enricher.apply(wrong_type, ctx, NOW, NOW)
    assert (wrong_type["event_ts"], wrong_type["skew_flagged"]) == (NOW, True)
    with pytest.raises(msgspec.ValidationError):
        convert_event(wrong_type)  # left for validation to reject


def test_wrong_node_types_are_left_for_validation(enricher: Enricher, ctx: BatchContext) -> None:
    item = event(device="iPhone", network=["x"])
    enricher.apply(item, ctx, NOW, NOW)
    assert item["device"] == "iPhone"
    assert item["network"] == ["x"]


def test_apply_batch_matches_apply(enricher: Enricher, ctx: BatchContext) -> None:
    one_by_one = [event(seq=i, client_ts=NOW - 100 * i) for i in range(5)]
    batch = [event(seq=i, client_ts=NOW - 100 * i) for i in range(5)]
    for item in one_by_one:
        enricher.apply(item, ctx, NOW, NOW - 30)
    enricher.apply_batch([*batch, "not an object", 3], ctx, NOW, NOW - 30)
    assert batch == one_by_one


def test_events_do_not_share_nodes(enricher: Enricher, ctx: BatchContext) -> None:
    a, b = event(), event()
    enricher.apply_batch([a, b], ctx, NOW, NOW)
    a["device"]["os"] = "changed"
    a["geo"]["city"] = "changed"
    a["network"]["ip"] = "changed"
    assert b["device"]["os"] == "iOS"
    assert b["geo"]["city"] == "London"
    assert b["network"]["ip"] == "81.2.69.0"
    assert enricher.context("10.0.0.5", "81.2.69.160", IPHONE).geo_fields["city"] == "London"


def test_contexts_are_cached(enricher: Enricher) -> None:
    first = enricher.context("10.0.0.5", "81.2.69.160", IPHONE)
    assert enricher.context("10.0.0.5", "81.2.69.160", IPHONE) is first
    assert enricher.context("10.0.0.5", None, IPHONE) is not first


def test_keep_full_ip_and_prefixes() -> None:
    full = Enricher(EnrichSettings(keep_full_ip=True))
    assert full.context("2001:db8:1:2::7", None, None).ip == "2001:db8:1:2::7"
    wide = Enricher(EnrichSettings(ip_v4_prefix=16, ip_v6_prefix=32))
    assert wide.context("203.0.113.9", None, None).ip == "203.0.0.0"
    assert wide.context("2001:db8:1:2::7", None, None).ip == "2001:db8::"


def test_without_databases_nothing_geo_is_set() -> None:
    ctx = Enricher().context("81.2.69.160", None, "")
    item = event()
    Enricher().apply(item, ctx, NOW, NOW)
    assert "geo" not in item
    assert "device" not in item
    assert item["network"] == {"ip": "81.2.69.0"}


def test_bad_settings_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=re.escape("collector.enrich.trusted_proxies")):
        Enricher(EnrichSettings(trusted_proxies=["10.0.0.0/8", "the load balancer"]))
    with pytest.raises(ConfigError, match=re.escape("collector.enrich.geoip_city_db")):
        Enricher(EnrichSettings(geoip_city_db=str(tmp_path / "nope.mmdb")))
    with pytest.raises(ConfigError, match="ip_v4_prefix"):
        Enricher(EnrichSettings(ip_v4_prefix=40))


def test_settings_are_strict_and_checked() -> None:
    settings = msgspec.convert({"trusted_proxies": ["10.0.0.0/8"]}, EnrichSettings)
    assert settings.ip_v4_prefix == 24
    assert settings.max_skew_ms == 86_400_000
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        msgspec.convert({"geoip_db": "x"}, EnrichSettings)
    with pytest.raises(msgspec.ValidationError, match="ip_v6_prefix"):
        msgspec.convert({"ip_v6_prefix": 129}, EnrichSettings)
