"""CMCD through the real collector, Kafka and standardizer: good lines become events, a bad
line goes to the invalid topic alone with its reason, a report sent twice counts once."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from confluent_kafka import Consumer

from playpipe.kafka.settings import consumer_config
from playpipe.kafka.topics import topic_name
from tests.integration.pipeline import Pipeline

pytestmark = pytest.mark.kafka


def read(pipeline: Pipeline, short: str, done: Any, timeout_s: float = 90) -> list[Any]:
    consumer = Consumer(consumer_config(pipeline.config.kafka, f"t-{uuid.uuid4().hex}"))
    consumer.subscribe([topic_name(pipeline.config, short)])
    out: list[Any] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and not done(out):
            for msg in consumer.consume(500, timeout=0.5):
                if msg.error() is None and msg.value() is not None:
                    out.append(msg)
    finally:
        consumer.close()
    return out


@pytest.mark.timeout(300)
def test_cmcd_reports_become_events_and_a_bad_line_is_rejected_alone(
    kafka_bootstrap: str, unique_prefix: str, tmp_path: Path
) -> None:
    sid = f"it-{uuid.uuid4().hex[:8]}"
    t0 = int(time.time() * 1000) - 5000
    lines = [
        f'e=ps,sid="{sid}",sn=0,sta=s,ts={t0},v=2',
        f'br=(600),e=ps,sid="{sid}",sn=1,sta=p,ts={t0 + 400},v=2',
        f'e=ps,sid="{sid}",sn=2,sta=a,ts={t0 + 900},br=(6',  # truncated: rejected alone
        f'e=ps,sid="{sid}",sn=3,sta=e,ts={t0 + 2000},v=2',
    ]
    body = "\n".join(lines[:3]) + "\n"
    pipeline = Pipeline(kafka_bootstrap, unique_prefix, tmp_path, partitions=3)
    pipeline.collector.start()
    pipeline.start_stage("standardizer", "standardize")
    try:
        url = f"{pipeline.collector.url}/v1/cmcd?key=acme"
        headers = {"content-type": "application/cmcd", "origin": "https://player.example"}
        answers = [
            httpx.post(url, content=body, headers=headers, timeout=10),
            httpx.post(url, content=lines[1], headers=headers, timeout=10),  # a client retry
            httpx.post(url, content=lines[3], headers=headers, timeout=10),
        ]
        assert [a.status_code for a in answers] == [204, 204, 204]
        assert answers[0].headers["access-control-allow-origin"] == "https://player.example"
        # one view, one partition, in order: once view_end is out, the retry was handled
        events = read(pipeline, "events", lambda got: any(b"view_end" in m.value() for m in got))
        invalid = read(pipeline, "beacons.invalid", lambda got: len(got) >= 1)
    finally:
        pipeline.stop()
    decoded = [msgspec.json.decode(m.value()) for m in events]
    assert [e["event_type"] for e in sorted(decoded, key=lambda e: e["seq"])] == [
        "view_start",
        "play_requested",
        "first_frame",
        "ended",
        "view_end",
    ]
    assert {m.key() for m in events} == {sid.encode()}
    assert all(e["property"] == "acme" and e["source"] == "cmcd" for e in decoded)
    [bad] = invalid
    reasons = dict(bad.headers())
    assert bad.value() == lines[2].encode()
    assert reasons["playpipe.field"] == b"$.br"
    assert b"not closed" in reasons["playpipe.reason"]
    assert reasons["playpipe.stage"] == b"standardizer"
    assert reasons["playpipe.format"] == b"cmcd"
