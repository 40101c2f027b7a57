"""Start-up of a connector process: check everything, then run the loop.

``run_connector`` is what ``playpipe connect NAME`` calls. Before reading a single record it
checks the settings (filter, fields), that the source topic exists, creates the dead-letter
topic, sets the destination up and runs its healthcheck; any failure is a ``ConfigError``
naming the connector, the key and the fix.
"""

from __future__ import annotations

import gc
import threading
from typing import Any

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import NewTopic

from playpipe.config import Config
from playpipe.connectors import registry
from playpipe.connectors.base import Connector, HealthcheckError
from playpipe.connectors.dlq import DeadLetters, dlq_short_name
from playpipe.connectors.metrics import HealthServer
from playpipe.connectors.runtime import Runtime
from playpipe.connectors.settings import ConnectorConfig
from playpipe.connectors.transform import SetupError, Transform
from playpipe.connectors.validate import find
from playpipe.errors import ConfigError, KafkaUnavailableError
from playpipe.kafka.admin import connect
from playpipe.kafka.settings import consumer_config, producer_config
from playpipe.kafka.topics import desired_topics, topic_name
from playpipe.log import get_logger

log = get_logger("connectors")


def group_id(config: Config, name: str) -> str:
    """The consumer group of connector ``name``: ``<prefix>-connector-<name>``."""
    prefix = config.topics.prefix
    return f"{prefix}-connector-{name}" if prefix else f"connector-{name}"


def _fail(settings: ConnectorConfig, key: str, problem: str, fix: str) -> ConfigError:
    kind = type(settings).__struct_config__.tag
    return ConfigError(
        f"Connector `{settings.name}` ({kind}) cannot start: {problem} "
        f"(key `connectors.{settings.name}.{key}`). {fix}"
    )


def check_settings(settings: ConnectorConfig, connector: Connector[Any]) -> None:
    """Compile the filter and field selection now, so mistakes fail before any record."""
    try:
        Transform(connector.settings)
    except SetupError as exc:
        raise _fail(settings, exc.key, exc.problem, exc.fix) from None
    selection = connector.settings.fields
    if connector.requires_event_id() and (
        "event_id" in selection.exclude
        or "event_id" in selection.rename
        or (selection.include and "event_id" not in selection.include)
    ):
        raise _fail(
            settings,
            "fields",
            "this destination writes idempotently by `event_id`, which the field selection removes",
            "Keep `event_id` in `fields.include` and out of `fields.exclude` / `fields.rename`.",
        )


def prepare_topics(config: Config, settings: ConnectorConfig) -> str:
    """Check the source topic exists and create the DLQ topic; return the source's name."""
    cluster = connect(config.kafka)
    source = topic_name(config, settings.topic)
    if source not in cluster.metadata.topics:
        raise _fail(
            settings,
            "topic",
            f"the topic `{source}` does not exist",
            "Create the topics with `playpipe topics apply`, or fix the short topic name "
            "(events, views, metrics.<window>).",
        )
    spec = next(
        s
        for s in desired_topics(config, cluster.broker_count, [settings.name])
        if s.short == dlq_short_name(settings.name)
    )
    if spec.name not in cluster.metadata.topics:
        topic = NewTopic(spec.name, spec.partitions, spec.replication_factor, config=spec.config)
        future = cluster.admin.create_topics([topic])[spec.name]
        try:
            future.result(timeout=config.kafka.timeout_s)
        except Exception as exc:  # created meanwhile by another copy is fine
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise KafkaUnavailableError(f"Could not create {spec.name}: {exc}") from None
    return source


def create(config: Config, settings: ConnectorConfig) -> Connector[Any]:
    """The connector, its filter and field selection checked; not yet set up."""
    connector = registry.create(settings, config)
    check_settings(settings, connector)
    return connector


def start(
    config: Config, settings: ConnectorConfig, connector: Connector[Any] | None = None
) -> Connector[Any]:
    """The connector, set up and healthy; raises ``ConfigError`` otherwise."""
    connector = connector or create(config, settings)
    try:
        connector.setup()
        connector.healthcheck()
    except HealthcheckError as exc:
        connector.close()
        raise _fail(settings, exc.key, exc.problem, exc.fix) from None
    return connector


def build_runtime(config: Config, settings: ConnectorConfig) -> Runtime:
    """Everything ``playpipe connect`` runs, checked and connected, not yet consuming."""
    connector = create(config, settings)
    source = prepare_topics(config, settings)
    connector = start(config, settings, connector)
    consumer = Consumer(
        consumer_config(
            config.kafka,
            group_id(config, settings.name),
            **{"enable.auto.commit": False},
        )
    )
    producer = Producer(producer_config(config.kafka))
    dlq = DeadLetters(producer, topic_name(config, dlq_short_name(settings.name)), settings.name)
    return Runtime(connector, consumer, dlq, source)


def _readiness(connector: Connector[Any]) -> str | None:
    try:
        connector.healthcheck()
    except HealthcheckError as exc:
        return str(exc)
    except Exception as exc:  # reported, never raised into the HTTP thread
        return f"{type(exc).__name__}: {exc}"
    return None


def tune_gc() -> None:
    """Collect garbage rarely: a connector allocates millions of acyclic dicts (decoded
    records), and the default thresholds re-scan every live batch hundreds of times per
    second (about a third of the per-event CPU). Objects made at start-up are frozen out of
    the scans. Cycles are still collected, later."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 10)


def run_connector(
    config: Config,
    name: str,
    install_signals: bool = True,
    stop: threading.Event | None = None,
) -> None:
    """Run connector ``name`` of ``config`` until SIGTERM / SIGINT (``playpipe connect``).

    ``stop``, when given, ends the run when set (for embedding and tests).
    """
    settings = find(config.connectors, name)
    runtime = build_runtime(config, settings)
    tune_gc()
    if stop is not None:
        runtime.stop = stop
    server = None
    if settings.metrics_port:
        server = HealthServer(settings.metrics_port, lambda: _readiness(runtime.connector))
        runtime.on_round.append(server.beat)
        server.start()
    if install_signals:
        runtime.install_signal_handlers()
    try:
        runtime.run()
    finally:
        runtime.connector.close()
        if server is not None:
            server.stop()
