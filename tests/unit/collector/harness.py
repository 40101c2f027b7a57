"""An in-process collector: the real ASGI app with a sink that keeps records in memory."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import httpx
import msgspec

from playpipe.collector.app import CollectorApp, Topics
from playpipe.collector.enrich import Enricher
from playpipe.collector.settings import CollectorSettings
from playpipe.collector.sink import OutRecord
from playpipe.collector.spool import SpoolFullError
from playpipe.dictionary import encode_event, example_event

RAW, INVALID = "test.beacons.raw", "test.beacons.invalid"
UA_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)


class MemorySink:
    """Keeps what the app hands over; can pretend Kafka is away and the spool full."""

    def __init__(self) -> None:
        self.records: list[OutRecord] = []
        self.kafka_ok = True
        self.full = False

    @property
    def spool_full(self) -> bool:
        return self.full

    async def deliver(self, records: Sequence[OutRecord]) -> str:
        if self.full:
            raise SpoolFullError("spool full", 10, 10)
        self.records.extend(records)
        return "kafka"

    def start(self) -> None:
        pass

    async def close(self, drain_s: float = 10.0) -> None:
        pass

    def on(self, topic: str) -> list[OutRecord]:
        return [r for r in self.records if r.topic == topic]

    def raw_events(self) -> list[dict[str, Any]]:
        """The accepted events as dicts, in order (a raw record holds one view's events)."""
        return raw_events(self.on(RAW))


def raw_events(records: Sequence[OutRecord]) -> list[dict[str, Any]]:
    """Flatten raw records: each value is one event or a JSON array of one view's events."""
    out: list[dict[str, Any]] = []
    for record in records:
        value = msgspec.json.decode(record.value)
        out.extend(value if isinstance(value, list) else [value])
    return out


def make_app(**settings: Any) -> tuple[CollectorApp, MemorySink]:
    sink = MemorySink()
    config = msgspec.convert({"open": True, **settings}, CollectorSettings)
    app = CollectorApp(config, Topics(RAW, INVALID), lambda: sink, Enricher(config.enrich))
    app.sink = sink
    return app, sink


def client(app: CollectorApp) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("81.2.69.160", 5555))
    return httpx.AsyncClient(transport=transport, base_url="http://collector")


def event(event_type: str = "playing", view_id: str | None = None, **fields: Any) -> dict[str, Any]:
    """A valid event as a dict, with a fresh id."""
    data: dict[str, Any] = msgspec.json.decode(encode_event(example_event(event_type)))
    data["event_id"] = uuid.uuid4().hex
    data["view_id"] = view_id or f"view-{uuid.uuid4().hex[:8]}"
    data.pop("property", None)
    data.update(fields)
    return data


def body(*events: dict[str, Any]) -> bytes:
    return msgspec.json.encode(list(events))
