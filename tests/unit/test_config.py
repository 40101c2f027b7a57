from __future__ import annotations

from pathlib import Path

import pytest

from playpipe import config
from playpipe.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "playpipe.toml"
    path.write_text(text)
    return path


def test_defaults_run_everything_locally() -> None:
    cfg = config.load(environ={})
    assert cfg.kafka.bootstrap_servers == "127.0.0.1:9092"
    assert cfg.topics.prefix == "playpipe"
    assert cfg.streams.windows == ["10s", "1m"]


def test_file_values_are_read(tmp_path: Path) -> None:
    path = write(
        tmp_path, '[kafka]\nbootstrap_servers = "k1:9092,k2:9092"\n[topics]\npartitions = 12\n'
    )
    cfg = config.load(path, environ={})
    assert cfg.kafka.bootstrap_servers == "k1:9092,k2:9092"
    assert cfg.topics.partitions == 12


def test_config_file_from_environment_variable(tmp_path: Path) -> None:
    path = write(tmp_path, '[topics]\nprefix = "video"\n')
    assert config.load(environ={"PLAYPIPE_CONFIG": str(path)}).topics.prefix == "video"


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[topics]\npartitions = 12\n")
    env = {
        "PLAYPIPE_TOPICS_PARTITIONS": "24",
        "PLAYPIPE_KAFKA_BOOTSTRAP_SERVERS": "broker:9092",
        "PLAYPIPE_STREAMS_WINDOWS": '["5s", "1m"]',
        "PLAYPIPE_LOG_LEVEL": "DEBUG",  # steers playpipe, not a key of the tree
    }
    cfg = config.load(path, environ=env)
    assert cfg.topics.partitions == 24
    assert cfg.kafka.bootstrap_servers == "broker:9092"
    assert cfg.streams.windows == ["5s", "1m"]


def test_client_table_keys_take_dots_from_underscores() -> None:
    env = {
        "PLAYPIPE_KAFKA_CLIENT_SASL_PASSWORD": "s3cret",
        "PLAYPIPE_KAFKA_CLIENT_SECURITY_PROTOCOL": "SASL_SSL",
    }
    cfg = config.load(environ=env)
    assert cfg.kafka.client == {"sasl.password": "s3cret", "security.protocol": "SASL_SSL"}
    assert config.dump(cfg)["kafka"]["client"]["sasl.password"] == "***"


def test_topic_overrides_table(tmp_path: Path) -> None:
    path = write(
        tmp_path, '[topics.overrides."beacons.raw"]\npartitions = 24\nretention_ms = 3600000\n'
    )
    override = config.load(path, environ={}).topics.overrides["beacons.raw"]
    assert (override.partitions, override.retention_ms) == (24, 3600000)


def test_unknown_key_in_file_names_key_file_and_choices(tmp_path: Path) -> None:
    path = write(tmp_path, '[kafka]\nbootstrap = "x"\n')
    with pytest.raises(ConfigError) as err:
        config.load(path, environ={})
    message = str(err.value)
    assert "`kafka.bootstrap`" in message
    assert str(path) in message
    assert "Did you mean `bootstrap_servers`?" in message
    assert "bootstrap_servers, client, timeout_s" in message


def test_unknown_nested_key_in_override_table(tmp_path: Path) -> None:
    path = write(tmp_path, '[topics.overrides."events"]\nparts = 3\n')
    with pytest.raises(ConfigError, match=r"`topics\.overrides\.events\.parts`"):
        config.load(path, environ={})


def test_unknown_key_from_environment_names_the_variable() -> None:
    with pytest.raises(ConfigError) as err:
        config.load(environ={"PLAYPIPE_KAFKA_BOOTSTRAPSERVERS": "x"})
    assert "PLAYPIPE_KAFKA_BOOTSTRAPSERVERS" in str(err.value)


def test_unknown_section() -> None:
    with pytest.raises(ConfigError) as err:
        config.load(environ={"PLAYPIPE_KAFAK_X": "1"})
    assert "Unknown configuration key `kafak_x`" in str(err.value)
    assert "Did you mean `kafka`?" in str(err.value)


def test_wrong_type_names_key_and_origin(tmp_path: Path) -> None:
    path = write(tmp_path, '[topics]\npartitions = "many"\n')
    with pytest.raises(ConfigError) as err:
        config.load(path, environ={})
    assert "`topics.partitions`" in str(err.value)
    assert str(path) in str(err.value)
    assert "Expected `int`" in str(err.value)


def test_out_of_range_value_from_environment() -> None:
    with pytest.raises(ConfigError) as err:
        config.load(environ={"PLAYPIPE_TOPICS_PARTITIONS": "0"})
    assert "PLAYPIPE_TOPICS_PARTITIONS" in str(err.value)
    assert ">= 1" in str(err.value)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        config.load(tmp_path / "nope.toml", environ={})


def test_invalid_toml_is_a_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path, "[kafka\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.load(path, environ={})


def test_dump_masks_secrets_anywhere_in_the_tree() -> None:
    env = {"PLAYPIPE_KAFKA_CLIENT_SASL_PASSWORD": "s3cret"}
    data = config.dump(config.load(environ=env))
    assert data["kafka"]["client"]["sasl.password"] == "***"
    assert config._mask({"connectors": [{"api_key": "k", "url": "u"}]}) == {
        "connectors": [{"api_key": "***", "url": "u"}]
    }
    assert config._mask({"api": {"tokens": {"abc": ["*"]}}}) == {"api": {"tokens": "***"}}
