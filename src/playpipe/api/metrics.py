"""The API's own Prometheus series, beside the shared ones of :mod:`playpipe.telemetry`."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

__all__ = ["live_streams", "requests", "rows_written"]

requests = Counter(
    "playpipe_api_requests_total", "API requests by endpoint and status.", ["endpoint", "status"]
)
rows_written = Counter(
    "playpipe_store_rows_written_total", "Rows upserted into the metrics store.", ["table"]
)
live_streams = Gauge("playpipe_api_live_streams", "Open /v1/live streams.")
