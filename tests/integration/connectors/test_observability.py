"""A running connector serves /metrics, /healthz and /readyz on its metrics_port."""

from __future__ import annotations

import threading

import httpx
import msgspec
import pytest

from playpipe.config import Config
from playpipe.connectors.app import run_connector
from playpipe.connectors.settings import ConnectorConfig
from tests.integration.connectors.harness import create_topic, make_events, produce, wait_for
from tests.integration.connectors.pg import free_port
from tests.integration.connectors.receivers import Receiver, WebhookLogic

pytestmark = pytest.mark.kafka


def test_metrics_and_health_endpoints(kafka_config: Config) -> None:
    create_topic(kafka_config)
    produce(kafka_config, make_events(200))
    logic = WebhookLogic()
    receiver = Receiver(logic).start()
    port = free_port()
    table = {
        "name": "obs",
        "type": "webhook",
        "url": receiver.url,
        "metrics_port": port,
        "filter": 'event_type != "paused"',
        "batch": {"max_age_ms": 100},
    }
    kafka_config.connectors = [msgspec.convert(table, ConnectorConfig)]  # type: ignore[arg-type]
    stop = threading.Event()
    thread = threading.Thread(
        target=run_connector, args=(kafka_config, "obs", False, stop), daemon=True
    )
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        kept = sum(1 for i in range(200) if i % 6 != 3)  # every event but the paused ones
        wait_for(lambda: len(logic.records()) >= kept, what="delivery")
        wait_for(lambda: _get(f"{base}/healthz") == 200, what="/healthz")
        assert _get(f"{base}/readyz") == 200
        text = httpx.get(f"{base}/metrics").text
        assert 'playpipe_connector_delivered_events_total{connector="obs"}' in text
        assert 'playpipe_connector_filtered_events_total{by="filter",connector="obs"}' in text
        assert 'playpipe_received_events_total{component="connector-obs"}' in text
        assert "playpipe_connector_batch_seconds_bucket" in text
        wait_for(
            lambda: "playpipe_connector_lag_messages{" in httpx.get(f"{base}/metrics").text,
            what="lag gauges",
        )
        receiver.stop()  # the destination goes away: readiness says so
        wait_for(lambda: _get(f"{base}/readyz") == 503, timeout=15, what="/readyz 503")
    finally:
        stop.set()
        receiver.stop()
        thread.join(30)
    assert not thread.is_alive()


def _get(url: str) -> int:
    try:
        return httpx.get(url, timeout=5).status_code
    except httpx.HTTPError:
        return 0
