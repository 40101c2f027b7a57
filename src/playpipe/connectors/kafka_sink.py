"""The ``kafka`` connector: records to another topic, on this cluster or another one.

The target cluster has its own ``bootstrap_servers`` and client settings (security, SASL).
Messages are keyed by ``key_field`` (``view_id`` by default) so a view stays on one
partition; the producer is idempotent with ``acks=all``, and ``flush`` waits for every
acknowledgement before offsets are committed.
"""

from __future__ import annotations

from typing import Any

import orjson
from confluent_kafka import KafkaError, KafkaException, Message, Producer

from playpipe.config import KafkaSettings
from playpipe.connectors.base import Connector, HealthcheckError, Record, WriteResult
from playpipe.connectors.settings import KafkaSinkSettings
from playpipe.errors import TerminalError, TransientError
from playpipe.kafka.settings import producer_config

_TERMINAL_CODES = frozenset(
    {
        KafkaError.MSG_SIZE_TOO_LARGE,
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError.INVALID_RECORD,
    }
)


class KafkaConnector(Connector[KafkaSinkSettings]):
    """Produces each record as JSON to ``target_topic``."""

    settings_class = KafkaSinkSettings

    def target(self) -> KafkaSettings:
        """Client settings of the target cluster."""
        s = self.settings
        if not s.bootstrap_servers:
            return KafkaSettings(
                bootstrap_servers=self.config.kafka.bootstrap_servers,
                client={**self.config.kafka.client, **s.client},
                timeout_s=self.config.kafka.timeout_s,
            )
        return KafkaSettings(bootstrap_servers=s.bootstrap_servers, client=dict(s.client))

    def setup(self) -> None:
        self.producer = Producer(
            producer_config(self.target(), **{"allow.auto.create.topics": False})
        )
        self._errors: list[tuple[Record, KafkaError]] = []

    def _key(self, data: dict[str, Any]) -> bytes | None:
        value = data.get(self.settings.key_field)
        return None if value is None else str(value).encode()

    def write(self, batch: list[Record]) -> WriteResult | None:
        self._errors = []
        for record in batch:
            self._produce(record)
        return None

    def _produce(self, record: Record) -> None:
        def report(err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                self._errors.append((record, err))

        value = orjson.dumps(record.data)
        while True:
            try:
                self.producer.produce(
                    self.settings.target_topic, value, self._key(record.data), on_delivery=report
                )
                return
            except BufferError:
                self.producer.poll(0.05)

    def flush(self) -> None:
        if self.producer.flush(60.0) > 0:
            raise TransientError("the target cluster did not acknowledge within 60 s")
        if self._errors:
            _record, err = self._errors[0]
            message = f"{err.name()}: {err.str()} ({len(self._errors)} records)"
            if err.code() in _TERMINAL_CODES:
                raise TerminalError(message)
            raise TransientError(message)

    def healthcheck(self) -> None:
        try:
            metadata = self.producer.list_topics(self.settings.target_topic, timeout=10)
        except KafkaException as exc:
            raise HealthcheckError(
                "bootstrap_servers",
                f"cannot reach the target cluster ({exc})",
                "Check `bootstrap_servers` and the `client` security settings.",
            ) from None
        topic = metadata.topics.get(self.settings.target_topic)
        if topic is None or topic.error is not None:
            raise HealthcheckError(
                "target_topic",
                f"the topic `{self.settings.target_topic}` does not exist on the target cluster",
                "Create it, or fix `target_topic` (a full topic name).",
            )

    def close(self) -> None:
        producer = getattr(self, "producer", None)
        if producer is not None:
            producer.flush(10.0)
