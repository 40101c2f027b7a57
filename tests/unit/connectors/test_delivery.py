"""Delivery of one batch: retries, backpressure, per-record failures and the DLQ."""

from __future__ import annotations

from playpipe.connectors.base import Record, WriteResult
from playpipe.connectors.delivery import Delivery
from playpipe.connectors.dlq import DeadLetters, parse_headers
from playpipe.connectors.retry import RetryPolicy
from playpipe.errors import BackpressureError, TerminalError, TransientError
from tests.unit.connectors.fakes import FakeProducer, ScriptedConnector, record


def deliver(script: list, batch: list[Record], policy: RetryPolicy | None = None):
    connector = ScriptedConnector(script)
    producer = FakeProducer()
    waits: list[float] = []
    delivery = Delivery(
        connector,
        policy or RetryPolicy(max_attempts=5, initial_s=0.01, max_s=0.05, budget_s=60),
        DeadLetters(producer, "t.dlq.scripted", "scripted"),  # type: ignore[arg-type]
        waits.append,
    )
    delivery.deliver(batch)
    delivery.dead_letters.flush()
    return connector, producer, waits


def test_success_writes_once() -> None:
    connector, producer, waits = deliver([None], [record(1), record(2)])
    assert connector.writes == [[1, 2]] and not producer.messages and not waits


def test_transient_errors_are_retried_then_succeed() -> None:
    connector, producer, waits = deliver(
        [TransientError("503"), TransientError("timeout"), None], [record(1)]
    )
    assert len(connector.writes) == 3 and not producer.messages
    assert len(waits) == 2 and all(0 <= w <= 0.05 for w in waits)


def test_terminal_error_dead_letters_the_batch_at_once() -> None:
    connector, producer, waits = deliver([TerminalError("HTTP 400: bad")], [record(1), record(2)])
    assert len(connector.writes) == 1 and not waits
    assert [m["value"] for m in producer.messages] == [b'{"event_id":"e1"}', b'{"event_id":"e2"}']
    headers = parse_headers(producer.messages[0]["headers"])
    assert headers["playpipe.error.class"] == "TerminalError"
    assert headers["playpipe.error.attempts"] == "1"


def test_exhausted_retries_go_to_the_dlq_with_the_attempt_count() -> None:
    policy = RetryPolicy(max_attempts=3, initial_s=0.01, max_s=0.01, budget_s=60)
    connector, producer, _ = deliver([TransientError("down")] * 10, [record(1)], policy)
    assert len(connector.writes) == 3
    headers = parse_headers(producer.messages[0]["headers"])
    assert headers["playpipe.error.attempts"] == "3"
    assert headers["playpipe.error.class"] == "TransientError"


def test_backpressure_waits_without_spending_the_budget() -> None:
    policy = RetryPolicy(max_attempts=1, initial_s=0.01, max_s=0.01, budget_s=60)
    script = [BackpressureError("429", retry_after=2.5)] * 4 + [None]
    connector, producer, waits = deliver(script, [record(1)], policy)
    assert waits == [2.5] * 4 and len(connector.writes) == 5 and not producer.messages


def test_per_record_failures_dead_letter_or_retry_only_those() -> None:
    def partial(batch: list[Record]) -> WriteResult:
        return WriteResult(
            failed=[
                (batch[0], TerminalError("mapper_parsing_exception")),
                (batch[1], BackpressureError("es_rejected_execution_exception", 1.0)),
            ]
        )

    connector, producer, waits = deliver([partial, None], [record(1), record(2), record(3)])
    assert connector.writes == [[1, 2, 3], [2]]
    assert waits == [1.0]
    assert [m["value"] for m in producer.messages] == [b'{"event_id":"e1"}']


def test_unexpected_exceptions_are_retried_not_dropped() -> None:
    connector, producer, _ = deliver([KeyError("bug"), None], [record(1)])
    assert len(connector.writes) == 2 and not producer.messages


def test_replayed_records_add_their_previous_attempts() -> None:
    again = record(1)
    again.attempts = 4
    again.source = ("t.events", 2, 99)
    _, producer, _ = deliver([TerminalError("still bad")], [again])
    headers = parse_headers(producer.messages[0]["headers"])
    assert headers["playpipe.error.attempts"] == "5"
    assert headers["playpipe.source.partition"] == "2"
    assert headers["playpipe.source.offset"] == "99"
