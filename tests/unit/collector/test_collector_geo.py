"""GeoLookup against tiny City and ASN databases written by the test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from playpipe.collector.geo import GeoLookup, GeoResult
from playpipe.dictionary import GeoNode
from playpipe.errors import ConfigError
from tests.unit.collector.geodb import write_asn_db, write_city_db


@pytest.fixture
def both(tmp_path: Path) -> Iterator[GeoLookup]:
    lookup = GeoLookup(str(write_city_db(tmp_path)), str(write_asn_db(tmp_path)))
    yield lookup
    lookup.close()


def test_city_and_asn_of_an_ipv4_address(both: GeoLookup) -> None:
    geo, asn, isp = both.lookup("81.2.69.160")
    assert geo == GeoNode(country="GB", region="ENG", city="London", continent="EU")
    assert (asn, isp) == (20712, "Andrews & Arnold Ltd")


def test_ipv6_address_uses_the_first_subdivision(both: GeoLookup) -> None:
    geo, asn, isp = both.lookup("2001:db8:1234::9")
    assert geo == GeoNode(country="FR", region="IDF", city="Paris", continent="EU")
    assert (asn, isp) == (3215, "Orange")


def test_country_only_record(both: GeoLookup) -> None:
    assert both.lookup("203.0.113.5") == GeoResult(
        GeoNode(country="AU", continent="OC"), None, None
    )


def test_values_the_dictionary_cannot_hold_are_dropped(both: GeoLookup) -> None:
    assert both.lookup("198.18.0.1") == GeoResult(None, None, None)


@pytest.mark.parametrize("ip", ["10.1.2.3", "127.0.0.1", "192.0.2.1", "", "not-an-ip", "::1"])
def test_unknown_or_invalid_address_finds_nothing(both: GeoLookup, ip: str) -> None:
    assert both.lookup(ip) == GeoResult(None, None, None)


def test_lookups_are_cached(both: GeoLookup) -> None:
    first = both.lookup("81.2.69.1")
    assert both.lookup("81.2.69.1") is first


def test_each_database_is_optional(tmp_path: Path) -> None:
    asn_only = GeoLookup("", str(write_asn_db(tmp_path)))
    assert asn_only.lookup("81.2.69.1") == GeoResult(None, 20712, "Andrews & Arnold Ltd")
    city_only = GeoLookup(str(write_city_db(tmp_path)), "")
    assert city_only.lookup("81.2.69.1").asn is None
    assert city_only.lookup("81.2.69.1").geo is not None
    nothing = GeoLookup()
    assert not nothing.enabled
    assert nothing.lookup("81.2.69.1") == GeoResult(None, None, None)
    asn_only.close()
    city_only.close()


def test_missing_database_names_the_path_and_the_setting(tmp_path: Path) -> None:
    missing = tmp_path / "GeoLite2-City.mmdb"
    with pytest.raises(ConfigError) as err:
        GeoLookup(str(missing), "", city_setting="collector.enrich.geoip_city_db")
    assert str(missing) in str(err.value)
    assert "collector.enrich.geoip_city_db" in str(err.value)
    assert "does not exist" in str(err.value)


def test_corrupt_database_names_the_path_and_the_setting(tmp_path: Path) -> None:
    corrupt = tmp_path / "asn.mmdb"
    corrupt.write_bytes(b"this is not a MaxMind database" * 10)
    with pytest.raises(ConfigError) as err:
        GeoLookup(str(write_city_db(tmp_path)), str(corrupt))
    assert str(corrupt) in str(err.value)
    assert "collector.enrich.geoip_asn_db" in str(err.value)
    assert "not a valid MaxMind database" in str(err.value)


def test_directory_instead_of_a_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="directory"):
        GeoLookup(str(tmp_path), "")


def test_closed_lookup_finds_nothing(tmp_path: Path) -> None:
    lookup = GeoLookup(str(write_city_db(tmp_path)), "")
    lookup.close()
    assert lookup.lookup("81.2.69.1") == GeoResult(None, None, None)
