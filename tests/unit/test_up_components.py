"""What ``playpipe up`` runs for a configuration, and how its live table reads."""

from __future__ import annotations

import msgspec
from rich.console import Console

from playpipe.config import Config
from playpipe.connectors.settings import ConnectorConfig
from playpipe.up import Watch, components_for, render


def config_with_connectors() -> Config:
    config = Config()
    config.topics.prefix = "video"
    config.connectors = msgspec.convert(
        [
            {"name": "lake", "type": "parquet", "path": "data/events"},
            {"name": "views-lake", "type": "parquet", "topic": "views", "path": "data/views"},
        ],
        list[ConnectorConfig],
    )
    return config


def test_one_connect_process_per_configured_connector() -> None:
    watches = components_for(config_with_connectors(), metrics_ports=9100)
    by_name = {w.component.name: w for w in watches}
    assert list(by_name) == [
        "collector",
        "standardizer",
        "aggregator",
        "connect lake",
        "connect views-lake",
        "api",
    ]
    lake, views = by_name["connect lake"], by_name["connect views-lake"]
    assert lake.component.args == ["connect", "lake", "--metrics-port", "9102"]
    assert views.component.args == ["connect", "views-lake", "--metrics-port", "9103"]
    assert lake.component.metrics_url == "http://127.0.0.1:9102/metrics"
    assert (lake.group, lake.input_topic) == ("video-connector-lake", "video.events")
    assert (views.group, views.input_topic) == ("video-connector-views-lake", "video.views")


def test_the_collector_stops_before_every_consumer() -> None:
    waves = {w.component.name: w.component.stop_wave for w in components_for(Config())}
    assert waves.pop("collector") < min(waves.values())
    assert len(set(waves.values())) == 1


def test_free_metrics_ports_when_asked_for_zero() -> None:
    ports = [w.component.args[-1] for w in components_for(config_with_connectors(), 0)[1:-1]]
    assert len(set(ports)) == 4 and all(int(p) > 0 for p in ports)


def test_live_table_shows_lag_errors_and_dead_letters() -> None:
    watches = components_for(config_with_connectors())
    lake: Watch = watches[3]
    lake.rate, lake.lag, lake.errors, lake.dead_lettered = 1234.0, 56, 2.0, 7.0
    console = Console(width=120, record=True)
    console.print(render(watches, "playpipe"))
    text = console.export_text()
    assert "events/s" in text and "lag" in text and "errors" in text and "DLQ" in text
    row = next(line for line in text.splitlines() if "connect lake" in line)
    assert "1,234" in row and "56" in row and "7" in row
