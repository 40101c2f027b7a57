"""The registry: built-ins by import string, plugins by entry point, extras by name."""

from __future__ import annotations

import importlib

import msgspec
import pytest

from playpipe.config import Config
from playpipe.connectors import registry
from playpipe.connectors.settings import ConnectorConfig, PluginSettings
from playpipe.connectors.webhook import WebhookConnector
from playpipe.errors import ConfigError
from tests.unit.connectors.fakes import MemoryConnector, MemorySettings


def settings(**table: object) -> ConnectorConfig:
    return msgspec.convert(table, ConnectorConfig)  # type: ignore[arg-type]


def test_builtins_are_imported_by_name() -> None:
    connector = registry.create(settings(name="w", type="webhook", url="http://x/"), Config())
    assert isinstance(connector, WebhookConnector)
    assert set(registry.BUILTIN) == {
        "webhook",
        "postgres",
        "parquet",
        "kafka",
        "file",
        "datadog",
        "elasticsearch",
        "amplitude",
    }


def test_a_plugin_gets_its_own_strict_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    target = "tests.unit.connectors.fakes:MemoryConnector"
    monkeypatch.setattr(registry, "plugins", lambda: {"memory": target})
    table = settings(
        name="m", type="plugin", plugin="memory", topic="views", options={"capacity": 3}
    )
    assert isinstance(table, PluginSettings)
    connector = registry.create(table, Config())
    assert isinstance(connector, MemoryConnector)
    assert isinstance(connector.settings, MemorySettings)
    assert (connector.settings.capacity, connector.settings.topic) == (3, "views")
    bad = settings(name="m", type="plugin", plugin="memory", options={"capacty": 3})
    with pytest.raises(ConfigError, match=r"connectors\.m\.options.*capacty"):
        registry.create(bad, Config())


def test_unknown_plugin_lists_the_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "plugins", lambda: {"memory": "x:Y"})
    with pytest.raises(ConfigError, match=r"no plugin `bigquery`.*installed: memory"):
        registry.create(settings(name="b", type="plugin", plugin="bigquery"), Config())


def test_a_missing_client_prints_the_install_line(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.import_module

    def missing(name: str, package: str | None = None) -> object:
        if name == "playpipe.connectors.postgres":
            raise ModuleNotFoundError("No module named 'psycopg'", name="psycopg")
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", missing)
    with pytest.raises(ConfigError, match=r"pip install 'playpipe\[postgres\]'"):
        registry.create(settings(name="p", type="postgres", dsn="x"), Config())
