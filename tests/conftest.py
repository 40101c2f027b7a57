"""Session fixtures: a real Apache Kafka for the integration tests.

The single-node cluster starts once per test session (ports from 39092) unless
``PLAYPIPE_TEST_BOOTSTRAP`` names a running cluster; the 3-node cluster (ports from 39192)
starts only when a test asks for it. Every test gets its own topic prefix.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from playpipe.config import Config, KafkaSettings, LocalKafkaSettings
from playpipe.kafka.local import LocalCluster

# CI explores the same examples on every run (a failure there is reproducible); developers'
# runs explore new ones.
settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

SINGLE_PORT_BASE = 39092
TRIPLE_PORT_BASE = 39192


def _start(tmp_root: Path, nodes: int, port_base: int) -> LocalCluster:
    cluster = LocalCluster(LocalKafkaSettings(nodes=nodes, port_base=port_base), tmp_root)
    cluster.start(nodes=nodes, port_base=port_base)
    return cluster


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap servers of a single-node Kafka for the whole session."""
    external = os.environ.get("PLAYPIPE_TEST_BOOTSTRAP")
    if external:
        yield external
        return
    cluster = _start(tmp_path_factory.mktemp("kafka1"), 1, SINGLE_PORT_BASE)
    try:
        yield cluster.bootstrap_servers
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def kafka_cluster3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """A 3-node KRaft quorum (RF=3, min ISR 2) that tests may kill nodes of."""
    cluster = _start(tmp_path_factory.mktemp("kafka3"), 3, TRIPLE_PORT_BASE)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def unique_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def kafka_config(kafka_bootstrap: str, unique_prefix: str) -> Config:
    """A configuration pointing at the session Kafka with topics of this test only."""
    config = Config(kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap, timeout_s=15.0))
    config.topics.prefix = unique_prefix
    config.topics.partitions = 3
    return config


@pytest.fixture
def make_topic(kafka_bootstrap: str, unique_prefix: str) -> Callable[..., str]:
    """Create a fresh topic for this test and return its name."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    counter = iter(range(1000))

    def make(partitions: int = 3, replication: int = 1, bootstrap: str | None = None) -> str:
        client = AdminClient({"bootstrap.servers": bootstrap}) if bootstrap else admin
        name = f"{unique_prefix}.topic{next(counter)}"
        client.create_topics([NewTopic(name, partitions, replication)])[name].result(30)
        return name

    return make
