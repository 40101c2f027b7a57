"""The connector lifecycle: what a destination implements, and what it is handed.

A connector implements ``write(batch)`` and, if it needs them, ``setup()``, ``flush()``,
``close()`` and ``healthcheck()``. The runtime around it (``playpipe.connectors.runtime``)
reads Kafka, transforms and batches records, calls ``write`` then ``flush``, retries, sends
what cannot be delivered to the dead-letter topic and commits offsets only after that::

    setup() -> healthcheck() -> [write(batch) -> flush()]* -> close()

A connector may also split the CPU work of a batch out of ``write`` into ``prepare(batch)``
(run while the previous batch is still being written) and take it back in
``write_prepared(batch, prepared)``.

``write`` raises ``TerminalError`` (the whole batch goes to the DLQ), ``TransientError``
(retried with backoff) or ``BackpressureError(retry_after)`` (partitions paused, then
retried), or returns a :class:`WriteResult` naming the records that failed one by one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from playpipe.connectors.settings import ConnectorSettings
from playpipe.errors import ConfigError, DeliveryError

if TYPE_CHECKING:
    from playpipe.config import Config

S = TypeVar("S", bound=ConnectorSettings)


@dataclass(slots=True)
class Record:
    """One Kafka message on its way to a destination."""

    data: dict[str, Any]
    """The record after sampling, filter, timestamp and field selection."""
    value: bytes
    """The message value as read; this is what a dead-letter record carries."""
    key: bytes | None
    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    """The Kafka message timestamp (ms since epoch)."""
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    source: tuple[str, int, int] | None = None
    """Where the record was first read, when it comes back from a dead-letter topic."""
    attempts: int = 0
    """Delivery attempts made before this read (from the dead-letter headers)."""

    @property
    def origin(self) -> tuple[str, int, int]:
        """(topic, partition, offset) of the first read."""
        return self.source or (self.topic, self.partition, self.offset)


@dataclass
class WriteResult:
    """Per-record outcome of a batch: the records that failed and why; the rest succeeded."""

    failed: list[tuple[Record, DeliveryError]] = field(default_factory=list)


class HealthcheckError(ConfigError):
    """The destination is unreachable or misconfigured: names the key and the fix."""

    def __init__(self, key: str, problem: str, fix: str) -> None:
        super().__init__(f"{problem} (check `{key}`). {fix}")
        self.key = key
        self.problem = problem
        self.fix = fix


class Connector(Generic[S]):
    """Base of every destination. Subclasses set ``settings_class`` and implement ``write``."""

    settings_class: ClassVar[type[ConnectorSettings]] = ConnectorSettings

    def __init__(self, settings: S, config: Config) -> None:
        self.settings = settings
        self.config = config

    @property
    def name(self) -> str:
        """The connector's configured name."""
        return self.settings.name

    def requires_event_id(self) -> bool:
        """Whether records must keep ``event_id`` (checked against the field selection)."""
        return False

    def setup(self) -> None:
        """Open clients, create tables; called once before the first batch."""

    def write(self, batch: list[Record]) -> WriteResult | None:
        """Deliver ``batch``; raise a ``DeliveryError`` or return per-record failures."""
        raise NotImplementedError

    def prepare(self, batch: list[Record]) -> object:
        """CPU work on ``batch`` before its first ``write`` (encoding, say), done on the
        consumer's thread while the previous batch is still being written. It must not
        touch the destination; what it returns goes to ``write_prepared``."""
        return None

    def write_prepared(self, batch: list[Record], prepared: object) -> WriteResult | None:
        """The first attempt at ``batch``, with what ``prepare`` returned (retries call
        ``write``)."""
        return self.write(batch)

    def flush(self) -> None:
        """Make everything written durable; offsets are committed after it returns."""

    def close(self) -> None:
        """Release clients; called once, also after a failure."""

    def healthcheck(self) -> None:
        """Do what the connector does, on a probe; raise ``HealthcheckError`` if it cannot."""
