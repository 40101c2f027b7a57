"""The topics of DESIGN's data flow, created or updated from configuration.

``apply_topics`` is idempotent: it compares what exists with what the configuration asks
for, creates what is missing, adds partitions and sets topic configs that differ, and reports
what it cannot do (fewer partitions, another replication factor) instead of guessing.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
)

from playpipe.config import Config
from playpipe.errors import ConfigError, KafkaUnavailableError
from playpipe.kafka.admin import Cluster, connect

DAY_MS = 24 * 3600 * 1000

# Short name -> (retention in days, cleanup policy). Keyed topics whose latest value is the
# truth (views, metric windows) are compacted so corrections replace earlier records.
BASE_TOPICS: dict[str, tuple[int, str]] = {
    "beacons.raw": (7, "delete"),
    "beacons.invalid": (14, "delete"),
    "events": (7, "delete"),
    "views": (30, "compact,delete"),
    # The aggregator's state changelog (one partition per events partition) and the window
    # partials it publishes for the merger.
    "aggregator.state": (30, "compact"),
    "aggregator.partials": (1, "delete"),
}
# Topics whose partition count must follow another topic's.
PARTITIONS_OF = {"aggregator.state": "events"}
EXTRA_CONFIG = {"aggregator.state": {"max.message.bytes": "16777216"}}
METRICS_RETENTION_DAYS = 30
DLQ_RETENTION_DAYS = 30


def topic_name(config: Config, short: str) -> str:
    """The full name of a topic, e.g. ``beacons.raw`` -> ``playpipe.beacons.raw``."""
    return f"{config.topics.prefix}.{short}" if config.topics.prefix else short


@dataclass(frozen=True)
class TopicSpec:
    """What one topic should look like."""

    short: str
    name: str
    partitions: int
    replication_factor: int
    config: dict[str, str]


@dataclass
class TopicChange:
    """One line of the plan: what happens to one topic."""

    topic: str
    action: str  # create | update | unchanged | refused
    details: list[str] = field(default_factory=list)


@dataclass
class TopicPlan:
    """The outcome of ``apply_topics``."""

    changes: list[TopicChange]

    @property
    def changed(self) -> bool:
        return any(c.action in ("create", "update") for c in self.changes)


def _short_names(config: Config, connectors: Iterable[str]) -> list[tuple[str, int, str]]:
    names = [(short, days, policy) for short, (days, policy) in BASE_TOPICS.items()]
    names += [
        (f"metrics.{w}", METRICS_RETENTION_DAYS, "compact,delete") for w in config.streams.windows
    ]
    names += [(f"dlq.{c}", DLQ_RETENTION_DAYS, "delete") for c in connectors]
    return names


def desired_topics(config: Config, brokers: int, connectors: Iterable[str] = ()) -> list[TopicSpec]:
    """Every topic the configuration asks for, on a cluster of ``brokers`` brokers."""
    specs = []
    for short, days, policy in _short_names(config, connectors):
        override = config.topics.overrides.get(short)
        rf = (override and override.replication_factor) or config.topics.replication_factor
        if rf is None:
            rf = min(3, brokers)
        if rf > brokers:
            key = (
                f'topics.overrides."{short}".replication_factor'
                if override and override.replication_factor
                else "topics.replication_factor"
            )
            raise ConfigError(
                f"`{key}` is {rf} but the cluster has {brokers} broker(s): a topic cannot have "
                f"more replicas than brokers. Lower it to {brokers} or less, or start more "
                "brokers (`playpipe kafka start --nodes 3`)."
            )
        retention = (override and override.retention_ms) or days * DAY_MS
        leader = config.topics.overrides.get(PARTITIONS_OF.get(short, ""))
        topic_config = {
            "cleanup.policy": policy,
            "retention.ms": str(retention),
            "min.insync.replicas": str(2 if rf >= 3 else 1),
            "unclean.leader.election.enable": "false",
            **EXTRA_CONFIG.get(short, {}),
            **(override.config if override else {}),
        }
        specs.append(
            TopicSpec(
                short=short,
                name=topic_name(config, short),
                partitions=(
                    (leader and leader.partitions)
                    or (override and override.partitions)
                    or config.topics.partitions
                ),
                replication_factor=rf,
                config=topic_config,
            )
        )
    return specs


def _current_configs(
    cluster: Cluster, names: list[str], timeout: float
) -> dict[str, dict[str, str]]:
    if not names:
        return {}
    resources = [ConfigResource(ConfigResource.Type.TOPIC, n) for n in names]
    futures = cluster.admin.describe_configs(resources, request_timeout=timeout)
    return {
        res.name: {k: v.value for k, v in fut.result(timeout=timeout).items()}
        for res, fut in futures.items()
    }


def _plan(
    cluster: Cluster, specs: list[TopicSpec], timeout: float
) -> list[tuple[TopicSpec, TopicChange]]:
    existing = cluster.metadata.topics
    configs = _current_configs(cluster, [s.name for s in specs if s.name in existing], timeout)
    plan = []
    for spec in specs:
        if spec.name not in existing:
            change = TopicChange(
                spec.name,
                "create",
                [f"partitions={spec.partitions}", f"replication={spec.replication_factor}"],
            )
            plan.append((spec, change))
            continue
        partitions = existing[spec.name].partitions
        change = TopicChange(spec.name, "unchanged")
        count = len(partitions)
        if spec.partitions > count:
            change.details.append(f"partitions {count} -> {spec.partitions}")
        elif spec.partitions < count:
            change.details.append(
                f"refused: partitions cannot shrink ({count} > {spec.partitions})"
            )
        rf = len(partitions[0].replicas) if partitions else 0
        if rf != spec.replication_factor:
            change.details.append(
                f"refused: replication {rf} -> {spec.replication_factor} "
                "needs a partition reassignment"
            )
        current = configs.get(spec.name, {})
        for key, value in spec.config.items():
            if current.get(key) != value:
                change.details.append(f"{key} {current.get(key)} -> {value}")
        if any(not d.startswith("refused") for d in change.details):
            change.action = "update"
        elif change.details:
            change.action = "refused"
        plan.append((spec, change))
    return plan


def _create(cluster: Cluster, specs: list[TopicSpec], timeout: float) -> None:
    if not specs:
        return
    new = [NewTopic(s.name, s.partitions, s.replication_factor, config=s.config) for s in specs]
    for name, fut in cluster.admin.create_topics(new, request_timeout=timeout).items():
        try:
            fut.result(timeout=timeout)
        except KafkaException as exc:
            if exc.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS:
                continue  # created meanwhile by another process applying the same plan
            raise KafkaUnavailableError(
                f"Kafka refused to create topic {name}: {exc.args[0].str()}"
            ) from None


def _await_visible(cluster: Cluster, specs: list[TopicSpec], timeout: float) -> None:
    """Return once every broker's metadata shows the topics with their partitions."""
    deadline = time.monotonic() + timeout
    want = {s.name: s.partitions for s in specs}
    while want:
        topics = cluster.admin.list_topics(timeout=timeout).topics
        want = {n: p for n, p in want.items() if n not in topics or len(topics[n].partitions) < p}
        if want and time.monotonic() > deadline:
            raise KafkaUnavailableError(
                f"Topics {', '.join(sorted(want))} were created "
                f"but are not visible after {timeout:g} s"
            )
        if want:
            time.sleep(0.1)


def _update(cluster: Cluster, spec: TopicSpec, change: TopicChange, timeout: float) -> None:
    if any(d.startswith("partitions ") for d in change.details):
        fut = cluster.admin.create_partitions([NewPartitions(spec.name, spec.partitions)])[
            spec.name
        ]
        fut.result(timeout=timeout)
    entries = [
        ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET)
        for k, v in spec.config.items()
    ]
    resource = ConfigResource(ConfigResource.Type.TOPIC, spec.name, incremental_configs=entries)
    for fut in cluster.admin.incremental_alter_configs([resource]).values():
        fut.result(timeout=timeout)


def apply_topics(
    config: Config, connectors: Iterable[str] = (), dry_run: bool = False
) -> TopicPlan:
    """Make the cluster's topics match the configuration; return what was (or would be) done."""
    cluster = connect(config.kafka)
    timeout = config.kafka.timeout_s
    specs = desired_topics(config, cluster.broker_count, connectors)
    plan = _plan(cluster, specs, timeout)
    if not dry_run:
        _create(cluster, [s for s, c in plan if c.action == "create"], timeout)
        touched: list[TopicSpec] = []
        for spec, change in plan:
            if change.action == "update":
                try:
                    _update(cluster, spec, change, timeout)
                except KafkaException as exc:
                    raise KafkaUnavailableError(
                        f"Kafka refused to update topic {spec.name}: {exc.args[0].str()}"
                    ) from None
                touched.append(spec)
        _await_visible(cluster, [s for s, c in plan if c.action == "create"] + touched, timeout)
    return TopicPlan([c for _, c in plan])
