"""The ceiling: a bare ASGI endpoint that only decodes a batch and produces it to Kafka.

No limits, no enrichment, no per-event error handling, no spool: what any collector on
granian + msgspec + confluent-kafka costs at least. Run by ``bench/collector/bench.py``.
"""

from __future__ import annotations

import os
import threading
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


def _poll() -> None:
    while True:
        producer.poll(0.05)


threading.Thread(target=_poll, daemon=True).start()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    for event in _decoder.decode(body):
        producer.produce(TOPIC, _encoder.encode(event), event.view_id.encode())
    await send(
        {
            "type": "http.response.start",
            "status": 202,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": ACCEPTED})
