"""Tiny MaxMind-format databases written at test time with the ``mmdb-writer`` package.

Networks and records follow the layout of MaxMind's GeoLite2 City and ASN databases.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mmdb_writer import MMDBWriter
from netaddr import IPSet  # type: ignore[import-untyped]

CITY: dict[str, dict[str, Any]] = {
    "81.2.69.0/24": {
        "city": {"geoname_id": 2643743, "names": {"en": "London", "fr": "Londres"}},
        "continent": {"code": "EU", "names": {"en": "Europe"}},
        "country": {"iso_code": "GB", "names": {"en": "United Kingdom"}},
        "subdivisions": [{"iso_code": "ENG", "names": {"en": "England"}}],
    },
    "203.0.113.0/24": {  # a country-level record: no city, no subdivision
        "continent": {"code": "OC"},
        "country": {"iso_code": "AU"},
    },
    "2001:db8::/32": {
        "city": {"names": {"en": "Paris"}},
        "continent": {"code": "EU"},
        "country": {"iso_code": "FR"},
        "subdivisions": [{"iso_code": "IDF"}, {"iso_code": "75"}],
    },
    "198.18.0.0/24": {  # values the dictionary cannot hold are dropped
        "continent": {"code": "XX"},
        "country": {"iso_code": "gb1"},
    },
}

ASN: dict[str, dict[str, Any]] = {
    "81.2.69.0/24": {
        "autonomous_system_number": 20712,
        "autonomous_system_organization": "Andrews & Arnold Ltd",
    },
    "2001:db8::/32": {"autonomous_system_number": 3215, "autonomous_system_organization": "Orange"},
}


def write_db(path: Path, records: dict[str, dict[str, Any]], database_type: str) -> Path:
    """Write an IPv6 database (IPv4 mapped in, like MaxMind's) holding ``records``."""
    writer = MMDBWriter(
        ip_version=6,
        ipv4_compatible=True,
        database_type=database_type,
        languages=["en"],
        description="playpipe test database",
        int_type="u32",
    )
    for network, record in records.items():
        writer.insert_network(IPSet([network]), record)
    writer.to_db_file(str(path))
    return path


def write_city_db(directory: Path) -> Path:
    return write_db(directory / "city.mmdb", CITY, "GeoLite2-City")


def write_asn_db(directory: Path) -> Path:
    return write_db(directory / "asn.mmdb", ASN, "GeoLite2-ASN")
