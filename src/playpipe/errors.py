"""The one error tree of playpipe.

    PlaypipeError                 anything playpipe reports to a user or operator
    ├── ConfigError               a setting is missing, unknown or of the wrong type
    ├── KafkaUnavailableError     the cluster cannot be reached or refused a request
    ├── LocalKafkaError           the local Apache Kafka runtime failed to start or stop
    └── DeliveryError             a destination failed (see ``playpipe.connectors``)
        ├── TerminalError         never retried: goes to the dead-letter topic
        ├── TransientError        retried with backoff and jitter
        └── BackpressureError     the destination asks us to slow down (``retry_after``)

Every message is written for the person who reads it: it names the problem and the fix.
"""

from __future__ import annotations


class PlaypipeError(Exception):
    """Base of every error playpipe raises on purpose."""


class ConfigError(PlaypipeError):
    """A configuration value is missing, unknown or invalid."""


class KafkaUnavailableError(PlaypipeError):
    """Kafka could not be reached, or refused what was asked."""


class LocalKafkaError(PlaypipeError):
    """The local Apache Kafka runtime could not be started, stopped or inspected."""


class DeliveryError(PlaypipeError):
    """A destination did not accept a batch."""


class TerminalError(DeliveryError):
    """The batch can never succeed as is (bad request, auth, schema): dead-letter it."""


class TransientError(DeliveryError):
    """The batch may succeed later (timeout, 5xx, connection refused): retry it."""


class BackpressureError(DeliveryError):
    """The destination is full or throttling: pause for ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after
