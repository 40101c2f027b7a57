"""IP address → coarse location and network owner, from MaxMind-format (``.mmdb``) databases.

Two databases, each optional:

- a *City* database (GeoLite2-City, GeoIP2-City, DB-IP City Lite, …) gives the country
  (``country.iso_code``), the region (``subdivisions[0].iso_code``), the city
  (``city.names.en``) and the continent (``continent.code``);
- an *ASN* database (GeoLite2-ASN, …) gives ``autonomous_system_number`` and
  ``autonomous_system_organization`` (reported as the ISP).

Lookups use the full client address (before truncation) and are cached per address: the
beacons of one viewer arrive from one address, so the cache absorbs most of the traffic.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Literal, NamedTuple, get_args

import maxminddb

from playpipe.dictionary import GeoNode
from playpipe.errors import ConfigError

__all__ = ["GEO_CACHE_SIZE", "GeoLookup", "GeoResult"]

GEO_CACHE_SIZE = 65_536
"""Addresses whose lookup result is kept in memory."""

_COUNTRY = re.compile(r"^[A-Z]{2}$")
Continent = Literal["AF", "AN", "AS", "EU", "NA", "OC", "SA"]
_CONTINENTS: dict[str, Continent] = {code: code for code in get_args(Continent)}
_TEXT_MAX = 256


class GeoResult(NamedTuple):
    """What is known about one address; every part may be missing."""

    geo: GeoNode | None
    asn: int | None
    isp: str | None


NO_RESULT = GeoResult(None, None, None)


def _open(path: str, setting: str, kind: str) -> Any:
    try:
        return maxminddb.open_database(path)
    except FileNotFoundError:
        problem = "the file does not exist"
    except IsADirectoryError:
        problem = "it is a directory, not a file"
    except PermissionError:
        problem = "it cannot be read (permission denied)"
    except (maxminddb.InvalidDatabaseError, ValueError, OSError) as exc:
        problem = f"it is not a valid MaxMind database ({exc})"
    raise ConfigError(
        f"Cannot open the {kind} database {path!r} set by `{setting}`: {problem}. "
        f"Point `{setting}` at a MaxMind-format {kind} .mmdb file, or leave it empty to "
        "turn this lookup off."
    )


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value[:_TEXT_MAX]
    return None


def _geo_node(record: Any) -> GeoNode | None:
    if not isinstance(record, dict):
        return None
    country = _text((record.get("country") or {}).get("iso_code"))
    subdivisions = record.get("subdivisions") or [{}]
    region = _text(subdivisions[0].get("iso_code")) if isinstance(subdivisions, list) else None
    city = _text(((record.get("city") or {}).get("names") or {}).get("en"))
    continent = _text((record.get("continent") or {}).get("code"))
    node = GeoNode(
        country=country if country and _COUNTRY.match(country) else None,
        region=region,
        city=city,
        continent=_CONTINENTS.get(continent or ""),
    )
    if node.country is None and region is None and city is None and node.continent is None:
        return None
    return node


def _asn(record: Any) -> tuple[int | None, str | None]:
    if not isinstance(record, dict):
        return None, None
    number = record.get("autonomous_system_number")
    asn = number if isinstance(number, int) and number >= 0 else None
    return asn, _text(record.get("autonomous_system_organization"))


class GeoLookup:
    """Look addresses up in an optional City and an optional ASN database.

    ``GeoLookup("", "")`` is valid and finds nothing. A path that cannot be opened raises
    :class:`~playpipe.errors.ConfigError` naming the path and the setting. Safe to share
    between threads.
    """

    def __init__(
        self,
        city_db: str = "",
        asn_db: str = "",
        *,
        cache_size: int = GEO_CACHE_SIZE,
        city_setting: str = "collector.enrich.geoip_city_db",
        asn_setting: str = "collector.enrich.geoip_asn_db",
    ) -> None:
        self._city = _open(city_db, city_setting, "GeoIP City") if city_db else None
        try:
            self._asn = _open(asn_db, asn_setting, "GeoIP ASN") if asn_db else None
        except ConfigError:
            if self._city is not None:
                self._city.close()
            raise
        self._cached = functools.lru_cache(maxsize=cache_size)(self._lookup)

    @property
    def enabled(self) -> bool:
        """Whether at least one database is open."""
        return self._city is not None or self._asn is not None

    def _get(self, reader: Any, ip: str) -> Any:
        if reader is None:
            return None
        try:
            return reader.get(ip)
        except ValueError:  # not an address, or IPv6 in an IPv4-only database
            return None

    def lookup(self, ip: str) -> GeoResult:
        """Geo node, ASN and ISP of ``ip`` (a full address, not truncated); cached."""
        return self._cached(ip)

    def _lookup(self, ip: str) -> GeoResult:
        if not ip or not self.enabled:
            return NO_RESULT
        geo = _geo_node(self._get(self._city, ip))
        asn, isp = _asn(self._get(self._asn, ip))
        return GeoResult(geo, asn, isp)

    def close(self) -> None:
        """Close the databases; lookups afterwards find nothing."""
        for reader in (self._city, self._asn):
            if reader is not None:
                reader.close()
        self._city = self._asn = None
        self._cached.cache_clear()
