"""Sending batches to a collector over HTTP, with retries that lose nothing.

One request per batch: ``POST {collector}/v1/events?key=<property>&sent_at=<client ms>``,
a JSON array body and the viewer's ``User-Agent``. ``sent_at`` is stamped just before each
attempt from the wall clock plus the viewer's skew, the same skewed clock as the events'
``client_ts`` (see docs/simulator.md, "true time").

Answers: 2xx is done; 429 and 503 wait ``Retry-After`` (else back off); other 5xx, timeouts
and connection errors back off exponentially with jitter; any other status is a refusal
that retrying cannot fix (counted, logged, not retried). A batch is given up only after
``max_attempts`` or ``retry_deadline_s``, and counted as failed.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import msgspec

from playpipe.dictionary import encode_events
from playpipe.log import get_logger
from playpipe.simulate.batching import ScheduledBatch
from playpipe.simulate.options import SimOptions

__all__ = ["SendStats", "Sender", "retry_after_s"]

log = get_logger("simulate")

_RETRY_STATUSES = frozenset({429, 503})


@dataclass(slots=True)
class SendStats:
    """What the sender did."""

    requests: int = 0
    retries: int = 0
    batches_sent: int = 0
    """Batches the collector answered 2xx (duplicate copies included)."""
    events_sent: int = 0
    """Events in those batches (duplicate copies included)."""
    events_rejected: int = 0
    """Events the collector refused one by one in a 202 answer (a simulator bug if > 0)."""
    failed_batches: int = 0
    failed_events: int = 0
    in_flight: int = 0
    statuses: Counter[str] = field(default_factory=Counter)


def retry_after_s(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds form); None if absent."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


class _Accepted(msgspec.Struct):
    accepted: int = 0
    rejected: list[object] = []


_decode_accepted = msgspec.json.Decoder(_Accepted).decode


class Sender:
    """Posts batches to one collector; share one per run (it owns the counters)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        collector_url: str,
        property_key: str,
        options: SimOptions,
        *,
        wall_clock: Callable[[], float] = time.time,
        jitter: random.Random | None = None,
    ) -> None:
        self.client = client
        self.url = collector_url.rstrip("/") + "/v1/events"
        self.property_key = property_key
        self.options = options
        self.wall_clock = wall_clock
        self.jitter = jitter or random.Random()
        self.stats = SendStats()
        # Like a player SDK, a viewer has one request in flight at a time: its batches
        # leave in order (lock, number of batches holding or waiting for it).
        self._viewers: dict[str, tuple[asyncio.Lock, int]] = {}

    def backoff_s(self, attempt: int) -> float:
        """Exponential backoff with jitter for attempt ``attempt`` (1 = after the first)."""
        o = self.options
        ceiling: float = min(o.backoff_max_s, o.backoff_base_s * 2.0 ** (attempt - 1))
        return ceiling * self.jitter.uniform(0.5, 1.0)

    async def send(self, batch: ScheduledBatch) -> bool:
        """Deliver one batch, retrying as needed; True when the collector accepted it.

        Batches of one viewer are sent one after the other, never side by side.
        """
        lock, users = self._viewers.get(batch.viewer_id, (asyncio.Lock(), 0))
        self._viewers[batch.viewer_id] = (lock, users + 1)
        try:
            async with lock:
                self.stats.in_flight += 1
                try:
                    return await self._send(batch)
                finally:
                    self.stats.in_flight -= 1
        finally:
            lock, users = self._viewers[batch.viewer_id]
            if users == 1:
                del self._viewers[batch.viewer_id]
            else:
                self._viewers[batch.viewer_id] = (lock, users - 1)

    async def _send(self, batch: ScheduledBatch) -> bool:
        o, stats = self.options, self.stats
        body = encode_events(batch.events)
        headers = {"user-agent": batch.user_agent, "content-type": "application/json"}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + o.retry_deadline_s
        attempt = 0
        while True:
            attempt += 1
            wait, why = await self._attempt(batch, body, headers, attempt)
            if wait is None:
                return why == "ok"
            if attempt >= o.max_attempts or loop.time() + wait > deadline:
                stats.failed_batches += 1
                stats.failed_events += len(batch.events)
                log.warning(
                    "simulate.batch_given_up", batch=batch.batch_id, attempts=attempt, last=why
                )
                return False
            stats.retries += 1
            await asyncio.sleep(wait)

    async def _attempt(
        self, batch: ScheduledBatch, body: bytes, headers: dict[str, str], attempt: int
    ) -> tuple[float | None, str]:
        """One request: ``(None, outcome)`` when done, ``(seconds to wait, why)`` to retry."""
        stats = self.stats
        sent_at = int(self.wall_clock() * 1000) + batch.skew_ms
        params = {"key": self.property_key, "sent_at": str(sent_at)}
        stats.requests += 1
        try:
            response = await self.client.post(
                self.url, params=params, content=body, headers=headers
            )
        except httpx.TransportError as exc:
            stats.statuses[type(exc).__name__] += 1
            return self.backoff_s(attempt), type(exc).__name__
        status = response.status_code
        stats.statuses[str(status)] += 1
        if 200 <= status < 300:
            self._accepted(batch, response.content)
            return None, "ok"
        if status in _RETRY_STATUSES or status >= 500:
            hinted = retry_after_s(response.headers.get("retry-after"))
            wait = hinted if hinted is not None and status in _RETRY_STATUSES else None
            return (wait if wait is not None else self.backoff_s(attempt)), str(status)
        stats.failed_batches += 1
        stats.failed_events += len(batch.events)
        log.error(
            "simulate.batch_refused",
            batch=batch.batch_id,
            status=status,
            answer=response.text[:200],
        )
        return None, str(status)

    def _accepted(self, batch: ScheduledBatch, content: bytes) -> None:
        stats = self.stats
        stats.batches_sent += 1
        stats.events_sent += len(batch.events)
        try:
            answer = _decode_accepted(content)
        except msgspec.DecodeError:
            return
        if answer.rejected:
            stats.events_rejected += len(answer.rejected)
            log.error(
                "simulate.events_rejected", batch=batch.batch_id, rejected=answer.rejected[:3]
            )
