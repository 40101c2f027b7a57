"""Start-up errors of [[connectors]] tables name the connector, the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from playpipe import config
from playpipe.connectors.settings import PostgresSettings, WebhookSettings
from playpipe.connectors.validate import check_file, check_tables, find
from playpipe.errors import ConfigError


def problem(tables: list) -> str:
    with pytest.raises(ConfigError) as info:
        check_tables(tables, "playpipe.toml")
    return str(info.value)


def test_unknown_key_names_connector_key_and_the_fix() -> None:
    text = problem([{"name": "hooks", "type": "webhook", "urll": "http://x"}])
    assert "connector `hooks`" in text and "`urll`" in text and "Rename it to `url`" in text
    assert "playpipe.toml" in text and "bearer_token" in text


def test_unknown_nested_key() -> None:
    text = problem([{"name": "db", "type": "postgres", "dsn": "x", "batch": {"max_evnts": 5}}])
    assert "`batch.max_evnts`" in text and "Rename it to `batch.max_events`" in text


def test_unknown_type_lists_the_types() -> None:
    text = problem([{"name": "x", "type": "webhok", "url": "u"}])
    assert "Did you mean `webhook`?" in text and "postgres" in text


def test_missing_required_key() -> None:
    text = problem([{"name": "lake", "type": "parquet"}])
    assert "connector `lake`" in text and "required key `path`" in text


def test_bad_value() -> None:
    text = problem([{"name": "s", "type": "file", "sample": 2}])
    assert "connector `s`" in text and "`sample`" in text and "<= 1.0" in text


def test_duplicate_names() -> None:
    text = problem([{"name": "a", "type": "file"}, {"name": "a", "type": "file"}])
    assert "Two connectors are named `a`" in text


def test_a_file_with_connectors_loads_typed(tmp_path: Path) -> None:
    path = tmp_path / "playpipe.toml"
    path.write_text(
        '[[connectors]]\nname = "hooks"\ntype = "webhook"\nurl = "http://127.0.0.1:9/x"\n'
        "[connectors.retry]\nmax_attempts = 3\n\n"
        '[[connectors]]\nname = "db"\ntype = "postgres"\ndsn = "postgresql://x@127.0.0.1/db"\n'
        'schema = "video"\n'
    )
    check_file(path, environ={})
    cfg = config.load(path, environ={})
    hooks, db = cfg.connectors
    assert isinstance(hooks, WebhookSettings) and hooks.retry.max_attempts == 3
    assert isinstance(db, PostgresSettings) and db.db_schema == "video"
    assert find(cfg.connectors, "db") is db
    with pytest.raises(ConfigError, match="No connector is named `nope`"):
        find(cfg.connectors, "nope")
