"""Delivering one batch: write, flush, retry what may succeed later, dead-letter the rest.

``Delivery.deliver`` returns once every record of the batch was acknowledged by the
destination or handed to the dead-letter producer; only then may offsets be committed.

- ``TerminalError`` (whole batch or per record): dead-lettered at once, never retried.
- ``TransientError`` (or an unexpected exception): retried with backoff and full jitter
  until the retry policy is exhausted, then dead-lettered.
- ``BackpressureError(retry_after)``: the runtime pauses the partitions for ``retry_after``
  while it keeps polling, then the same records are tried again. Backpressure never counts
  against the retry budget: a destination that asks us to wait is waited for.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from playpipe import telemetry
from playpipe.connectors import metrics
from playpipe.connectors.base import Connector, Record
from playpipe.connectors.dlq import DeadLetters
from playpipe.connectors.retry import RetryPolicy, backpressure_pause
from playpipe.errors import BackpressureError, DeliveryError, TerminalError, TransientError
from playpipe.log import get_logger

log = get_logger("connectors")

Waiter = Callable[[float], None]
"""Waits ``seconds`` while the consumer keeps polling; raises ``Stopping`` on shutdown."""


class Stopping(Exception):
    """Shutdown was asked for while a batch was waiting to be retried: leave it uncommitted."""


@dataclass
class _Round:
    """Records of one attempt, sorted by what to do next."""

    dead: list[tuple[Record, DeliveryError]]
    retry: list[tuple[Record, DeliveryError]]
    pause_s: float = 0.0


class Delivery:
    """Delivers batches of one connector with its retry policy and dead-letter topic."""

    def __init__(
        self,
        connector: Connector[object],  # type: ignore[type-var]
        policy: RetryPolicy,
        dead_letters: DeadLetters,
        wait: Waiter,
    ) -> None:
        self.connector = connector
        self.policy = policy
        self.dead_letters = dead_letters
        self.wait = wait
        name = connector.name
        self._delivered = metrics.delivered.labels(name)
        self._retried = metrics.retried.labels(name)
        self._component = metrics.component(name)

    def deliver(self, batch: list[Record], prepared: object = None) -> None:
        """Return when every record is delivered or dead-lettered (``Stopping`` aside).

        ``prepared`` is what the connector's ``prepare`` made of ``batch`` (first attempt only).
        """
        started = time.monotonic()
        pending = batch
        attempt = 0
        pressure = 0
        with metrics.batch_seconds.labels(self.connector.name).time():
            while pending:
                outcome = self._attempt(pending, prepared)
                prepared = None
                self._dead_letter(outcome.dead, attempt + 1)
                if not outcome.retry:
                    return
                pending = [record for record, _ in outcome.retry]
                if outcome.pause_s > 0 and all(
                    isinstance(e, BackpressureError) for _, e in outcome.retry
                ):
                    pressure += 1
                    pause = backpressure_pause(outcome.pause_s, pressure, self.policy)
                    self._note_retry("backpressure", outcome, pause)
                    self.wait(pause)
                    continue
                pressure = 0
                attempt += 1
                delay = self.policy.delay(attempt)
                if self.policy.exhausted(attempt, time.monotonic() - started, delay):
                    self._dead_letter(outcome.retry, attempt, exhausted=True)
                    return
                self._note_retry("transient", outcome, delay)
                self.wait(delay)

    def _attempt(self, pending: list[Record], prepared: object = None) -> _Round:
        try:
            if prepared is None:
                result = self.connector.write(pending)
            else:
                result = self.connector.write_prepared(pending, prepared)
            self.connector.flush()
        except TerminalError as exc:
            return _Round(dead=[(r, exc) for r in pending], retry=[])
        except BackpressureError as exc:
            return _Round(dead=[], retry=[(r, exc) for r in pending], pause_s=exc.retry_after)
        except TransientError as exc:
            return _Round(dead=[], retry=[(r, exc) for r in pending])
        except Exception as exc:  # a bug or an unmapped client error: retry, never drop
            log.error("write.unexpected", connector=self.connector.name, exc=True)
            unexpected = TransientError(f"{type(exc).__name__}: {exc}")
            return _Round(dead=[], retry=[(r, unexpected) for r in pending])
        failed = result.failed if result else []
        self._delivered.inc(len(pending) - len(failed))
        outcome = _Round(dead=[], retry=[])
        for record, error in failed:
            if isinstance(error, TerminalError):
                outcome.dead.append((record, error))
            else:
                outcome.retry.append((record, error))
                if isinstance(error, BackpressureError):
                    outcome.pause_s = max(outcome.pause_s, error.retry_after or 0.001)
        return outcome

    def _note_retry(self, kind: str, outcome: _Round, pause: float) -> None:
        self._retried.inc(len(outcome.retry))
        telemetry.errors.labels(self._component, kind).inc()
        log.warning(
            "batch.retry",
            connector=self.connector.name,
            kind=kind,
            records=len(outcome.retry),
            pause_s=round(pause, 3),
            error=str(outcome.retry[0][1])[:300],
        )

    def _dead_letter(
        self, dead: list[tuple[Record, DeliveryError]], attempts: int, exhausted: bool = False
    ) -> None:
        if not dead:
            return
        for record, error in dead:
            total = record.attempts + attempts
            self.dead_letters.send([record], error, total)
            reason = type(error).__name__
            metrics.dead_lettered.labels(self.connector.name, reason).inc()
            telemetry.invalid_events.labels(self._component, reason).inc()
        log.warning(
            "batch.dead_lettered",
            connector=self.connector.name,
            records=len(dead),
            attempts=attempts,
            exhausted=exhausted,
            error=str(dead[0][1])[:300],
        )
