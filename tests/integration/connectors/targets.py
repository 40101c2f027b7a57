"""One test double or real service per connector type, read back the same way.

``delivered()`` returns the records as the destination holds them, normalised to plain
dicts (absent fields dropped, timestamps in ms, JSON text columns parsed), so one contract
suite can compare every destination; ``batch_sizes()`` returns the size of each write the
destination saw, or ``None`` where a destination has no notion of a batch.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import msgspec
import psycopg
import pyarrow.parquet as pq
from psycopg.rows import dict_row

from playpipe.config import Config
from playpipe.connectors import settings as s
from tests.integration.connectors.harness import create_topic, read_topic
from tests.integration.connectors.receivers import (
    AmplitudeLogic,
    DatadogLogic,
    ElasticsearchLogic,
    Receiver,
    WebhookLogic,
)

KINDS = ["webhook", "postgres", "parquet", "kafka", "file", "datadog", "elasticsearch", "amplitude"]
DD_KEY = "dd-test-key"
AMP_KEY = "amp-test-key"


def normalise(value: Any) -> Any:
    """Drop ``None`` recursively, datetimes to ms, JSON text of known columns parsed."""
    if isinstance(value, dict):
        out = {k: normalise(v) for k, v in value.items() if v is not None}
        for key in ("extra", "custom"):
            if isinstance(out.get(key), str):
                out[key] = json.loads(out[key])
        extra = out.pop("extra", None)
        if isinstance(extra, dict):
            out.update(extra)
        return out
    if isinstance(value, dt.datetime):
        return int(value.timestamp() * 1000)
    return value


class Target:
    """Base: the common settings and no batches."""

    kind = ""

    def __init__(self, config: Config, tmp: Path, dsn: str | None) -> None:
        self.config = config
        self.tmp = tmp
        self.dsn = dsn
        self.setup()

    def setup(self) -> None:
        pass

    def own(self) -> dict[str, Any]:
        return {}

    def settings(self, name: str, **common: Any) -> s.ConnectorConfig:
        data = {"name": name, "type": self.kind, **self.own(), **common}
        return msgspec.convert(data, s.ConnectorConfig)  # type: ignore[arg-type]

    def delivered(self, expected: int = 0) -> list[dict[str, Any]]:
        raise NotImplementedError

    def batch_sizes(self) -> list[int] | None:
        return None

    def close(self) -> None:
        pass


class HttpTarget(Target):
    logic: Any

    def setup(self) -> None:
        self.logic = self.make_logic()
        self.receiver = Receiver(self.logic).start()

    def make_logic(self) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        self.receiver.stop()


class WebhookTarget(HttpTarget):
    kind = "webhook"

    def make_logic(self) -> Any:
        return WebhookLogic(token="t0ken", secret="s3cret")

    def own(self) -> dict[str, Any]:
        return {
            "url": self.receiver.url + "/hook",
            "bearer_token": "t0ken",
            "hmac_secret": "s3cret",
            "gzip": True,
        }

    def delivered(self, expected: int = 0) -> list[dict[str, Any]]:
        return [normalise(r) for r in self.logic.records()]

    def batch_sizes(self) -> list[int] | None:
        return [len(b) for b in self.logic.batches]


class DatadogTarget(HttpTarget):
    kind = "datadog"

    def make_logic(self) -> Any:
        return DatadogLogic(DD_KEY)

    def own(self) -> dict[str, Any]:
        return {"api_key": DD_KEY, "api_url": self.receiver.url, "logs_url": self.receiver.url}

    def delivered(self, expected: int = 0) -> list[dict[str, Any]]:
        assert not self.logic.problems, self.logic.problems[:3]
        drop = {"ddsource", "ddtags", "service", "message"}
        return [
            normalise({k: v for k, v in i.items() if k not in drop})
            for b in self.logic.logs
            for i in b
        ]

    def batch_sizes(self) -> list[int] | None:
        return [len(b) for b in self.logic.logs]


class ElasticsearchTarget(HttpTarget):
    kind = "elasticsearch"

    def make_logic(self) -> Any:
        return ElasticsearchLogic()

    def own(self) -> dict[str, Any]:
        return {"url": self.receiver.url, "index": "video-events"}

    def delivered(self, expected: int = 0) -> list[dict[str, Any]]:
        return [normalise(d) for d in self.logic.docs.values()]

    def batch_sizes(self) -> list[int] | None:
        return list(self.logic.bulk_sizes)


class AmplitudeTarget(HttpTarget):
    kind = "amplitude"

    def make_logic(self) -> Any:
        return AmplitudeLogic(AMP_KEY)

    def own(self) -> dict[str, Any]:
        return {"api_key": AMP_KEY, "url": self.receiver.url}

    def delivered(self, expected: int = 0) -> list[dict[str, Any]]:
        return [normalise(e["event_properties"]) for e in self.logic.events.values()]

    def batch_sizes(self) -> list[int] | None:
        return list(self.logic.request_sizes)


class PostgresTarget(Target):
    kind = "postgres"

    def setup(self) -> None:
        self.table = f"events_{uuid.uuid4().hex[:10]}"

    def own(self) -> dict[str, Any]:
        return {"dsn": self.dsn, "table": self.table}

    def rows(self) -> list[dict[str, Any]]:
        assert self.dsn
        with psycopg.connect(self.dsn, row_factory=dict_row) as conn:
            return conn.execute(f"SELECT * FROM {self.table}").fetchall()

    def delivered(self, expected: int = 0) -> list[dict[str, Any]]:
        drop = {"_topic", "_partition", "_offset", "_loaded_at"}
        return [normalise({k: v for k, v in r.items() if k not in drop}) for r in self.rows()]

    def batch_sizes(self) -> list[int] | None:
        counts: dict[Any, int] = {}
        for row in self.rows():
            counts[row["_loaded_at"]] = counts.get(row["_loaded_at"], 0) + 1
        return list(counts.values())


class ParquetTarget(Target):
    kind = "parquet"

    def own(self) -> dict[str, Any]:
        return {"path": str(self.tmp / "lake")}

    def files(self) -> list[Path]:
        return sorted((self.tmp / "lake").rglob("*.parquet"))

    def delivered(self, expected: int = 0) -> list[dict[str, Any]]:
        return [normalise(r) for f in self.files() for r in pq.read_table(f).to_pylist()]

    def batch_sizes(self) -> list[int] | None:
        return [pq.read_metadata(f).num_rows for f in self.files()]


class KafkaTarget(Target):
    kind = "kafka"

    def setup(self) -> None:
        self.topic = create_topic(self.config, f"out{uuid.uuid4().hex[:6]}")

    def own(self) -> dict[str, Any]:
        return {"target_topic": self.topic}

    def delivered(self, expected: int = 0) -> list[dict[str, Any]]:
        messages = read_topic(self.config, self.topic, expected, timeout=10 if expected else 2)
        return [normalise(json.loads(m.value())) for m in messages]


class FileTarget(Target):
    kind = "file"

    def own(self) -> dict[str, Any]:
        return {"path": str(self.tmp / "out" / "records.ndjson")}

    def delivered(self, expected: int = 0) -> list[dict[str, Any]]:
        path = self.tmp / "out" / "records.ndjson"
        if not path.exists():
            return []
        return [normalise(json.loads(line)) for line in path.read_text().splitlines() if line]


TARGETS: dict[str, type[Target]] = {
    t.kind: t
    for t in (
        WebhookTarget,
        PostgresTarget,
        ParquetTarget,
        KafkaTarget,
        FileTarget,
        DatadogTarget,
        ElasticsearchTarget,
        AmplitudeTarget,
    )
}
