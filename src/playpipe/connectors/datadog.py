"""The ``datadog`` connector: metric windows as series, events and views as logs.

- ``metrics.<window>`` topics: every numeric field of a window record becomes a gauge
  ``<metric_prefix>.<field>`` at ``window_start``, tagged with the window's dimensions
  (``POST /api/v2/series``; payloads kept under 500 KB).
- other topics: each record is one log (``POST /api/v2/logs``; at most 1,000 logs and
  5 MB per request), its fields as attributes, ``timestamp`` as the log date.

Auth is the ``DD-API-KEY`` header; the healthcheck calls ``GET /api/v1/validate``.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from playpipe.connectors import http
from playpipe.connectors.base import Connector, HealthcheckError, Record, WriteResult
from playpipe.connectors.settings import DatadogSettings
from playpipe.connectors.shapes import WINDOW_FIELDS, window_key

SERIES_MAX_BYTES = 500 * 1000
LOGS_MAX_BYTES = 5 * 1000 * 1000
LOGS_MAX_ITEMS = 1000
GAUGE = 3


def series_of(data: dict[str, Any], prefix: str, tags: list[str]) -> list[dict[str, Any]]:
    """One gauge series per numeric field of a window record."""
    start, size, dims = window_key(data)
    if start is None:
        return []
    all_tags = [*tags, *(f"{k}:{v}" for k, v in sorted(dims.items()) if v is not None)]
    interval = (size or 0) // 1000 or None
    out = []
    for name, value in data.items():
        if name in WINDOW_FIELDS or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        item: dict[str, Any] = {
            "metric": f"{prefix}.{name}",
            "type": GAUGE,
            "points": [{"timestamp": start // 1000, "value": value}],
            "tags": all_tags,
        }
        if interval:
            item["interval"] = interval
        out.append(item)
    return out


class DatadogConnector(Connector[DatadogSettings]):
    """Sends windows to the metrics API and everything else to the logs API."""

    settings_class = DatadogSettings

    def setup(self) -> None:
        s = self.settings
        self.metrics_mode = s.topic.startswith("metrics.")
        headers = {"DD-API-KEY": s.api_key, "Content-Type": "application/json"}
        self.client = httpx.Client(timeout=s.timeout_s, headers=headers)

    def _log(self, data: dict[str, Any]) -> dict[str, Any]:
        s = self.settings
        summary = " ".join(f"{k}={data[k]}" for k in ("event_type", "view_id") if k in data)
        return {
            **data,
            "ddsource": s.source,
            "ddtags": ",".join(s.tags),
            "service": s.service,
            "message": summary or "playpipe record",
        }

    def write(self, batch: list[Record]) -> WriteResult | None:
        if self.metrics_mode:
            s = self.settings
            items = [
                orjson.dumps(x) for r in batch for x in series_of(r.data, s.metric_prefix, s.tags)
            ]
            url, limit, max_items = f"{s.api_url}/api/v2/series", SERIES_MAX_BYTES, 10**9
            wrap = (b'{"series":[', b"]}")
        else:
            items = [orjson.dumps(self._log(r.data)) for r in batch]
            url, limit, max_items = (
                f"{self.settings.logs_url}/api/v2/logs",
                LOGS_MAX_BYTES,
                LOGS_MAX_ITEMS,
            )
            wrap = (b"[", b"]")
        for part in http.chunks(
            [len(i) for i in items], max_items, limit, overhead=len(wrap[0]) + 2
        ):
            body = wrap[0] + b",".join(items[i] for i in part) + wrap[1]
            http.check(http.send(self.client, url, body, {}))
        return None

    def healthcheck(self) -> None:
        url = f"{self.settings.api_url}/api/v1/validate"
        response = http.probe(self.client, "GET", url, url_key="api_url", auth_key="api_key")
        if response.status_code != 200:
            raise HealthcheckError(
                "api_key", f"{url} answered HTTP {response.status_code}", "Check `api_key`."
            )

    def close(self) -> None:
        client = getattr(self, "client", None)
        if client is not None:
            client.close()
