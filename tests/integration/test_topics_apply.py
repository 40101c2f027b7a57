from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource

from playpipe.config import Config, TopicOverride
from playpipe.errors import ConfigError
from playpipe.kafka.topics import BASE_TOPICS, apply_topics, topic_name

pytestmark = pytest.mark.kafka


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Metadata reaches every broker shortly after a change: await it."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)


def test_apply_creates_then_changes_nothing(kafka_config: Config) -> None:
    first = apply_topics(kafka_config)
    expected = {topic_name(kafka_config, s) for s in BASE_TOPICS} | {
        topic_name(kafka_config, f"metrics.{w}") for w in kafka_config.streams.windows
    }
    assert {c.topic for c in first.changes if c.action == "create"} == expected

    second = apply_topics(kafka_config)
    assert not second.changed
    assert {c.action for c in second.changes} == {"unchanged"}

    admin = AdminClient({"bootstrap.servers": kafka_config.kafka.bootstrap_servers})
    views = topic_name(kafka_config, "views")
    resource = ConfigResource(ConfigResource.Type.TOPIC, views)
    entries = admin.describe_configs([resource])[resource].result(15)
    assert entries["cleanup.policy"].value == "compact,delete"
    assert entries["unclean.leader.election.enable"].value == "false"


def test_partition_increase_and_config_change_are_applied(kafka_config: Config) -> None:
    apply_topics(kafka_config)
    kafka_config.topics.overrides["events"] = TopicOverride(partitions=5, retention_ms=3_600_000)
    plan = apply_topics(kafka_config)
    events = topic_name(kafka_config, "events")
    change = next(c for c in plan.changes if c.topic == events)
    assert change.action == "update"
    assert "partitions 3 -> 5" in change.details
    assert any(d.startswith("retention.ms") for d in change.details)
    # The aggregator's state changelog follows the events topic's partitions.
    state = topic_name(kafka_config, "aggregator.state")
    follower = next(c for c in plan.changes if c.topic == state)
    assert "partitions 3 -> 5" in follower.details
    others = [c for c in plan.changes if c.topic not in (events, state)]
    assert all(c.action == "unchanged" for c in others)

    admin = AdminClient({"bootstrap.servers": kafka_config.kafka.bootstrap_servers})
    wait_for(lambda: len(admin.list_topics(events, timeout=10).topics[events].partitions) == 5)
    wait_for(lambda: not apply_topics(kafka_config).changed)


def test_shrinking_is_refused_not_attempted(kafka_config: Config) -> None:
    apply_topics(kafka_config)
    kafka_config.topics.overrides["views"] = TopicOverride(partitions=1)
    change = next(c for c in apply_topics(kafka_config).changes if c.topic.endswith(".views"))
    assert change.action == "refused"
    assert "cannot shrink" in change.details[0]


def test_replication_larger_than_cluster_is_refused(kafka_config: Config) -> None:
    kafka_config.topics.replication_factor = 3
    with pytest.raises(ConfigError, match="cluster has 1 broker"):
        apply_topics(kafka_config)


def test_dry_run_changes_nothing(kafka_config: Config) -> None:
    plan = apply_topics(kafka_config, dry_run=True)
    assert plan.changed
    admin = AdminClient({"bootstrap.servers": kafka_config.kafka.bootstrap_servers})
    existing = admin.list_topics(timeout=10).topics
    assert not any(c.topic in existing for c in plan.changes)
