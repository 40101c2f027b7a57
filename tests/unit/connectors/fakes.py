"""In-memory stand-ins for the Kafka producer and a destination, for delivery tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playpipe.config import Config
from playpipe.connectors.base import Connector, Record, WriteResult
from playpipe.connectors.settings import FileSettings


class FakeProducer:
    """Keeps produced messages; acknowledges them on flush."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self._pending: list[Callable[..., None]] = []

    def produce(self, topic: str, value: bytes, key: bytes | None = None, **kw: Any) -> None:
        self.messages.append({"topic": topic, "value": value, "key": key, "headers": kw["headers"]})
        self._pending.append(kw["on_delivery"])

    def poll(self, timeout: float) -> int:
        return 0

    def flush(self, timeout: float) -> int:
        for report in self._pending:
            report(None, None)
        self._pending = []
        return 0


def record(offset: int, **data: Any) -> Record:
    return Record(
        data={"event_id": f"e{offset}", **data},
        value=b'{"event_id":"e%d"}' % offset,
        key=b"v1",
        topic="t.events",
        partition=0,
        offset=offset,
        timestamp_ms=1_700_000_000_000,
    )


class ScriptedConnector(Connector[FileSettings]):
    """Answers each write with the next scripted outcome (an exception or a callable)."""

    def __init__(self, script: list[Any]) -> None:
        super().__init__(FileSettings(name="scripted"), Config())
        self.script = list(script)
        self.writes: list[list[int]] = []

    def write(self, batch: list[Record]) -> WriteResult | None:
        self.writes.append([r.offset for r in batch])
        step = self.script.pop(0) if self.script else None
        if isinstance(step, BaseException):
            raise step
        if callable(step):
            return step(batch)  # type: ignore[no-any-return]
        return None


class MemorySettings(FileSettings, tag="memory"):
    """Settings of a third-party test connector (the common keys plus its own)."""

    capacity: int = 10


class MemoryConnector(Connector[MemorySettings]):
    """A third-party connector as a plugin would ship it."""

    settings_class = MemorySettings

    def write(self, batch: list[Record]) -> WriteResult | None:
        return None
