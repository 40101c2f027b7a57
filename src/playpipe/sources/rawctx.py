"""The request facts the collector writes on a raw record, read back by a format's mapping.

The collector's source routes (``playpipe.collector.routes``) write the body as received plus
headers: receive time, truncated client address, property key, user agent, query string,
the collector's enrichment (device, geo, network) and forwarded request headers. A mapping
reads them with :meth:`RawContext.from_headers` and fills the server-side fields of the
events it made with :meth:`RawContext.stamp`, the same way the collector does for native
events (so a replay of old raw data gives the same events).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qs

import msgspec

from playpipe.collector.enrich import skew_corrected
from playpipe.dictionary import DeviceNode, Event, GeoNode, NetworkNode

HTTP_PREFIX = "playpipe.http."
T = TypeVar("T")


def _text(headers: Mapping[str, bytes], name: str) -> str | None:
    value = headers.get(name)
    return value.decode("utf-8", "replace") if value is not None else None


@dataclass(frozen=True)
class RawContext:
    """What the collector knew about the request that carried a raw record."""

    received_at: int
    client_ip: str = ""
    property: str | None = None
    user_agent: str | None = None
    method: str = "POST"
    path: str = ""
    query: str = ""
    content_type: str = ""
    enrichment: dict[str, Any] = field(default_factory=dict)
    http: dict[str, str] = field(default_factory=dict)
    """Forwarded request headers, lower-case names (``cmcd-request``, ``referer``…)."""

    @classmethod
    def from_headers(cls, headers: Mapping[str, bytes], now_ms: int = 0) -> RawContext:
        """Read the headers of a raw record; a missing receive time becomes ``now_ms``."""
        received = _text(headers, "playpipe.received_at")
        try:
            received_at = int(received) if received else now_ms
        except ValueError:
            received_at = now_ms
        enrichment: dict[str, Any] = {}
        context = headers.get("playpipe.context")
        if context:
            try:
                decoded = msgspec.json.decode(context)
            except msgspec.DecodeError:
                decoded = None
            if isinstance(decoded, dict):
                enrichment = decoded
        http = {
            name[len(HTTP_PREFIX) :]: value.decode("latin-1")
            for name, value in headers.items()
            if name.startswith(HTTP_PREFIX)
        }
        return cls(
            received_at=received_at,
            client_ip=_text(headers, "playpipe.client_ip") or "",
            property=_text(headers, "playpipe.property"),
            user_agent=_text(headers, "playpipe.user_agent"),
            method=_text(headers, "playpipe.method") or "POST",
            path=_text(headers, "playpipe.path") or "",
            query=_text(headers, "playpipe.query") or "",
            content_type=_text(headers, "playpipe.content_type") or "",
            enrichment=enrichment,
            http=http,
        )

    def query_params(self) -> dict[str, list[str]]:
        return parse_qs(self.query, keep_blank_values=True)

    def stamp(self, event: Event, sent_at: int | None = None) -> None:
        """Fill the collector's fields of a mapped event in place.

        ``event_ts``: with the client's send time ``sent_at`` (same clock as ``client_ts``) the
        clock error is corrected as for native batches; without it (CMCD has none) the client
        clock is trusted, but never later than the receive time.
        """
        skew = 0 if sent_at is None else self.received_at - sent_at
        event.received_at = self.received_at
        event.event_ts, event.skew_flagged = skew_corrected(event.client_ts, skew, self.received_at)
        if event.property is None and self.property:
            event.property = self.property
        device = self.enrichment.get("device")
        if event.device is None and isinstance(device, dict) and device:
            event.device = _convert(device, DeviceNode)
        geo = self.enrichment.get("geo")
        if isinstance(geo, dict) and geo:
            event.geo = _convert(geo, GeoNode) or event.geo
        network = self.enrichment.get("network")
        if isinstance(network, dict) and network:
            base = msgspec.structs.asdict(event.network) if event.network else {}
            event.network = _convert({**base, **network}, NetworkNode) or event.network
        elif self.client_ip:
            base = msgspec.structs.asdict(event.network) if event.network else {}
            event.network = _convert({**base, "ip": self.client_ip}, NetworkNode)


def _convert(data: dict[str, Any], kind: type[T]) -> T | None:
    try:
        return msgspec.convert(data, kind)
    except msgspec.ValidationError:
        return None
