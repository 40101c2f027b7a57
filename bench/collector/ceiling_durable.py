"""The durable ceiling: decode a batch, produce it, answer once Kafka acknowledged every event.

What any collector that answers 202 only after Kafka has the events costs at least: the bare
ceiling (``ceiling.py``) plus the wait for ``acks=all``. No limits, no enrichment, no per-event
error handling, no spool. Delivery reports are served on the event loop, as in playpipe.
Run by ``bench/collector/bench.py``.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import msgspec
from confluent_kafka import Producer

from playpipe.dictionary import Event

_decoder = msgspec.json.Decoder(list[Event])
_encoder = msgspec.json.Encoder()
producer = Producer(
    {
        "bootstrap.servers": os.environ["BENCH_BOOTSTRAP"],
        "acks": "all",
        "enable.idempotence": True,
        "compression.type": "lz4",
        "linger.ms": 5,
    }
)
TOPIC = os.environ["BENCH_TOPIC"]
ACCEPTED = b'{"accepted":10,"rejected":[]}'
_waiting = 0
_poller: asyncio.Task[None] | None = None


async def _poll() -> None:
    while True:
        served = producer.poll(0)
        await asyncio.sleep(0 if served else 0.001 if _waiting else 0.01)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global _poller, _waiting
    if scope["type"] != "http":
        return
    if _poller is None:
        _poller = asyncio.get_running_loop().create_task(_poll())
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if not body:  # the harness's health probe
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    events = _decoder.decode(body)
    done = asyncio.get_running_loop().create_future()
    left = [len(events)]

    def on_delivery(err: Any, msg: Any) -> None:
        left[0] -= 1
        if left[0] == 0 and not done.done():
            done.set_result(None)

    for event in events:
        producer.produce(
            TOPIC, _encoder.encode(event), event.view_id.encode(), on_delivery=on_delivery
        )
    _waiting += 1
    try:
        await done
    finally:
        _waiting -= 1
    await send(
        {
            "type": "http.response.start",
            "status": 202,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": ACCEPTED})
