"""Outages, slow destinations and the dead-letter replay, against a real HTTP receiver."""

from __future__ import annotations

import threading
import time

import pytest

from playpipe.config import Config
from playpipe.connectors.dlq import parse_headers
from playpipe.connectors.replay import replay_dlq
from playpipe.connectors.settings import WebhookSettings
from playpipe.kafka.topics import topic_name
from tests.integration.connectors.harness import (
    create_topic,
    make_events,
    produce,
    read_topic,
    running,
    wait_for,
)
from tests.integration.connectors.receivers import Receiver, Reply, Request, WebhookLogic

pytestmark = pytest.mark.kafka
PATIENT = {
    "max_attempts": 10_000,
    "initial_backoff_ms": 100,
    "max_backoff_ms": 1000,
    "budget_s": 600,
}


def webhook(name: str, url: str, **values: object) -> WebhookSettings:
    import msgspec

    return msgspec.convert({"name": name, "type": "webhook", "url": url, **values}, WebhookSettings)


def delivered_ids(logic: WebhookLogic) -> set[str]:
    return {r["event_id"] for r in logic.records()}


def outage(config: Config, count: int, down_s: float) -> None:
    """Stream ``count`` events; take the receiver down for ``down_s`` in the middle."""
    create_topic(config)
    events = make_events(count, views=200)
    logic = WebhookLogic()
    receiver = Receiver(logic).start()
    settings = webhook(
        "outage", receiver.url, batch={"max_events": 200, "max_age_ms": 100}, retry=PATIENT
    )
    producer = threading.Thread(target=produce, args=(config, events))
    producer.start()
    with running(config, settings):
        wait_for(lambda: len(logic.records()) >= count // 5, what="first deliveries")
        receiver.stop()
        seen_at_stop = len(logic.records())
        time.sleep(down_s)
        assert len(logic.records()) == seen_at_stop  # really down
        receiver.start()  # same port: delivery resumes by itself
        wanted = {e["event_id"] for e in events}
        wait_for(lambda: wanted <= delivered_ids(logic), timeout=300, what="every event")
    producer.join()
    receiver.stop()
    assert delivered_ids(logic) == wanted  # nothing lost
    assert read_topic(config, topic_name(config, "dlq.outage"), 1, timeout=3) == []


def test_outage_loses_nothing_and_resumes_by_itself(kafka_config: Config) -> None:
    outage(kafka_config, 5_000, 5.0)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_outage_soak_50k_events_30s_down(kafka_config: Config) -> None:
    outage(kafka_config, 50_000, 30.0)


def test_a_slow_destination_does_not_slow_another(kafka_config: Config) -> None:
    create_topic(kafka_config)
    events = make_events(2_000)
    produce(kafka_config, events)
    slow_logic, fast_logic = WebhookLogic(), WebhookLogic()
    slow = Receiver(slow_logic, delay_s=5.0).start()
    fast = Receiver(fast_logic).start()
    batch = {"max_events": 500, "max_age_ms": 100}
    try:
        with (
            running(kafka_config, webhook("slow", slow.url, batch=batch, timeout_s=30)),
            running(kafka_config, webhook("fast", fast.url, batch=batch)),
        ):
            wanted = {e["event_id"] for e in events}
            wait_for(lambda: wanted <= delivered_ids(fast_logic), what="the fast connector")
            # The slow one answered at most one request (5 s each) meanwhile.
            assert len(slow.posts()) <= 1
    finally:
        slow.delay_s = 0
        slow.stop()
        fast.stop()


class Throttling:
    """A webhook answering 429 (``Retry-After: 1``) until ``until`` (monotonic seconds)."""

    def __init__(self) -> None:
        self.logic = WebhookLogic()
        self.until = float("inf")
        self.throttled = 0

    def __call__(self, request: Request) -> Reply:
        if request.method == "POST" and time.monotonic() < self.until:
            self.throttled += 1
            return 429, {"Retry-After": "1"}, b"slow down"
        return self.logic(request)


def test_backpressure_pauses_then_delivers_everything(kafka_config: Config) -> None:
    create_topic(kafka_config)
    events = make_events(300)
    produce(kafka_config, events)
    handler = Throttling()
    receiver = Receiver(handler).start()
    try:
        settings = webhook("bp", receiver.url, batch={"max_events": 100, "max_age_ms": 100})
        with running(kafka_config, settings):
            wait_for(lambda: handler.throttled > 0, what="a first 429")
            handler.until = time.monotonic() + 2.5
            wanted = {e["event_id"] for e in events}
            wait_for(lambda: wanted <= delivered_ids(handler.logic), what="delivery after 429s")
        # 2.5 s of 429s, each honoured for 1 s: a few tries, no spinning.
        assert handler.throttled <= 5
        assert read_topic(kafka_config, topic_name(kafka_config, "dlq.bp"), 1, timeout=3) == []
    finally:
        receiver.stop()


class Rejecting:
    """A webhook answering 422 while ``broken``, and always for one poisoned event."""

    def __init__(self, poison: str) -> None:
        self.logic = WebhookLogic()
        self.broken = True
        self.poison = poison

    def __call__(self, request: Request) -> Reply:
        if request.method == "POST" and (self.broken or self.poison.encode() in request.body):
            return 422, {}, b"unprocessable"
        return self.logic(request)


def test_dead_letters_then_replay_after_the_fix(kafka_config: Config) -> None:
    create_topic(kafka_config)
    events = make_events(40)
    poison = events[7]["event_id"]
    produce(kafka_config, events)
    handler = Rejecting(poison)
    receiver = Receiver(handler).start()
    dlq = topic_name(kafka_config, "dlq.replayed")
    settings = webhook("replayed", receiver.url, batch={"max_events": 1, "max_age_ms": 50})
    try:
        with running(kafka_config, settings):
            assert len(read_topic(kafka_config, dlq, len(events))) == len(events)
        assert not handler.logic.records()
        handler.broken = False  # the cause is fixed
        report = replay_dlq(kafka_config, "replayed")
        assert (report.read, report.delivered, report.failed_again) == (40, 39, 1)
        assert delivered_ids(handler.logic) == {e["event_id"] for e in events} - {poison}
        dead = read_topic(kafka_config, dlq, len(events) + 1)
        again = [m for m in dead if parse_headers(m.headers())["playpipe.error.attempts"] == "2"]
        assert len(dead) == len(events) + 1 and len(again) == 1
        assert poison.encode() in again[0].value()
        headers = parse_headers(again[0].headers())
        assert headers["playpipe.source.topic"] == topic_name(kafka_config, "events")
        # A second replay reads only what failed again.
        second = replay_dlq(kafka_config, "replayed")
        assert (second.read, second.delivered, second.failed_again) == (1, 0, 1)
    finally:
        receiver.stop()
