"""A connector that cannot work fails at start, naming the connector, the key and the fix."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from playpipe.config import Config
from playpipe.connectors.app import run_connector
from playpipe.connectors.settings import ConnectorConfig
from playpipe.errors import ConfigError
from tests.integration.connectors.harness import create_topic
from tests.integration.connectors.pg import free_port

pytestmark = pytest.mark.kafka


def fails(config: Config, table: dict) -> str:
    settings = msgspec.convert(table, ConnectorConfig)  # type: ignore[arg-type]
    config.connectors = [settings]
    with pytest.raises(ConfigError) as info:
        run_connector(config, table["name"], install_signals=False)
    return str(info.value)


def test_unknown_key_through_the_command(tmp_path: Path) -> None:
    path = tmp_path / "playpipe.toml"
    path.write_text('[[connectors]]\nname = "hooks"\ntype = "webhook"\nurll = "http://x"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAYPIPE_")}
    result = subprocess.run(
        [sys.executable, "-m", "playpipe", "--config", str(path), "connect", "hooks"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert "connector `hooks`" in message and "`urll`" in message
    assert "Rename it to `url`" in message


def test_bad_filter_names_the_position(kafka_config: Config) -> None:
    text = fails(
        kafka_config,
        {"name": "hooks", "type": "webhook", "url": "http://127.0.0.1:9/", "filter": "seq >> 3"},
    )
    assert "Connector `hooks`" in text and "connectors.hooks.filter" in text
    assert "at position 5" in text and "Fix the expression" in text


def test_unreachable_webhook(kafka_config: Config) -> None:
    create_topic(kafka_config)
    url = f"http://127.0.0.1:{free_port()}/hook"
    text = fails(kafka_config, {"name": "hooks", "type": "webhook", "url": url})
    assert "Connector `hooks` (webhook) cannot start" in text
    assert f"cannot reach {url}" in text and "connectors.hooks.url" in text
    assert "Check the address and port" in text


def test_unreachable_postgres(kafka_config: Config) -> None:
    create_topic(kafka_config)
    dsn = f"postgresql://nobody@127.0.0.1:{free_port()}/db"
    text = fails(kafka_config, {"name": "db", "type": "postgres", "dsn": dsn})
    assert "Connector `db` (postgres) cannot start" in text
    assert "connectors.db.dsn" in text and "Check host, port" in text


def test_missing_source_topic(kafka_config: Config, tmp_path: Path) -> None:
    text = fails(kafka_config, {"name": "f", "type": "file", "path": str(tmp_path / "x")})
    assert "does not exist" in text and "connectors.f.topic" in text
    assert "playpipe topics apply" in text


def test_unwritable_parquet_folder(kafka_config: Config, tmp_path: Path) -> None:
    create_topic(kafka_config)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    text = fails(kafka_config, {"name": "lake", "type": "parquet", "path": str(blocker / "x")})
    assert "connectors.lake.path" in text and "writable folder" in text
