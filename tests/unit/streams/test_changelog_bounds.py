"""Restoring asks Kafka again while leadership of a new changelog partition settles."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from playpipe.config import Config
from playpipe.streams.changelog import _bounds


class FlakyConsumer:
    """Answers ``errors`` in turn, then the offsets."""

    def __init__(self, errors: list[int]) -> None:
        self.errors = list(errors)
        self.calls = 0

    def get_watermark_offsets(self, tp: TopicPartition, timeout: float) -> tuple[int, int]:
        self.calls += 1
        if self.errors:
            raise KafkaException(KafkaError(self.errors.pop(0)))
        return 3, 17


def test_not_leader_yet_is_asked_again() -> None:
    consumer = FlakyConsumer(
        [KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.UNKNOWN_TOPIC_OR_PART]
    )
    assert _bounds(consumer, Config(), TopicPartition("t.aggregator.state", 0)) == (3, 17)
    assert consumer.calls == 3


def test_a_lasting_error_is_raised() -> None:
    consumer = FlakyConsumer([KafkaError.TOPIC_AUTHORIZATION_FAILED])
    with pytest.raises(KafkaException):
        _bounds(consumer, Config(), TopicPartition("t.aggregator.state", 0))
    assert consumer.calls == 1
