"""Arrow schemas of the Parquet files, derived from the data dictionary.

Events: typed envelope columns, one struct column per node (the dictionary's nodes are flat,
so each becomes a struct of typed scalars), ``custom`` and the event-specific fields
(``extra``) as JSON text, ``timestamp`` as ``timestamp[ms, UTC]``. Views and metric windows:
their key columns and the whole record as JSON text in ``record``. The schema never depends
on which fields a batch happens to carry, so every file of a connector reads the same.
"""

from __future__ import annotations

import functools
from typing import Any

import orjson
import pyarrow as pa  # type: ignore[import-untyped]
from msgspec import inspect

from playpipe.connectors.shapes import window_key
from playpipe.dictionary import BaseEvent

TIMESTAMPS = frozenset({"client_ts", "received_at", "event_ts", "timestamp"})
JSON_COLUMNS = frozenset({"custom"})


def _scalar(name: str, tp: inspect.Type) -> pa.DataType:
    while isinstance(tp, (inspect.Metadata, inspect.UnionType)):
        if isinstance(tp, inspect.Metadata):
            tp = tp.type
            continue
        members = [t for t in tp.types if not isinstance(t, inspect.NoneType)]
        if any(isinstance(t, inspect.FloatType) for t in members):
            return pa.float64()
        tp = members[0]
    if isinstance(tp, inspect.IntType):
        return pa.timestamp("ms", tz="UTC") if name in TIMESTAMPS else pa.int64()
    if isinstance(tp, inspect.FloatType):
        return pa.float64()
    if isinstance(tp, inspect.BoolType):
        return pa.bool_()
    if isinstance(tp, inspect.StructType):
        return pa.struct(
            [pa.field(f.encode_name, _scalar(f.encode_name, f.type)) for f in tp.fields]
        )
    return pa.string()


@functools.cache
def event_schema() -> pa.Schema:
    """The schema of event files: envelope, nodes, ``extra`` and ``timestamp``."""
    info = inspect.type_info(BaseEvent)
    assert isinstance(info, inspect.StructType)
    fields = [pa.field("event_id", pa.string()), pa.field("event_type", pa.string())]
    for f in info.fields:
        if f.encode_name == "event_id":
            continue
        kind = pa.string() if f.encode_name in JSON_COLUMNS else _scalar(f.encode_name, f.type)
        fields.append(pa.field(f.encode_name, kind))
    fields += [pa.field("extra", pa.string()), pa.field("timestamp", pa.timestamp("ms", tz="UTC"))]
    return pa.schema(fields)


def record_schema(topic: str) -> pa.Schema:
    """The schema of view or metric files: key columns, ``timestamp`` and ``record``."""
    if topic == "views":
        keys = [pa.field("view_id", pa.string())]
    else:
        keys = [
            pa.field("window_start", pa.timestamp("ms", tz="UTC")),
            pa.field("window_size_ms", pa.int64()),
            pa.field("dimensions", pa.string()),
        ]
    return pa.schema(
        [
            *keys,
            pa.field("timestamp", pa.timestamp("ms", tz="UTC")),
            pa.field("record", pa.string()),
        ]
    )


class RowShaper:
    """Turns records into rows of a fixed schema (JSON text where the schema says so)."""

    def __init__(self, topic: str) -> None:
        self.events = topic not in ("views",) and not topic.startswith("metrics.")
        self.schema = event_schema() if self.events else record_schema(topic)
        self.known = frozenset(self.schema.names) - {"extra"}

    def __call__(self, data: dict[str, Any]) -> dict[str, Any]:
        if not self.events:
            start, size, dims = window_key(data)
            return {
                "view_id": data.get("view_id"),
                "window_start": start,
                "window_size_ms": size,
                "dimensions": orjson.dumps(dims, option=orjson.OPT_SORT_KEYS).decode(),
                "timestamp": data.get("timestamp"),
                "record": orjson.dumps(data).decode(),
            }
        custom = data.get("custom")
        plain = custom is None or isinstance(custom, str)
        if plain and self.known.issuperset(data):  # the common case: nothing to change
            return data
        row = dict(data)
        if not plain:
            row["custom"] = orjson.dumps(custom).decode()
        known = self.known
        unknown = {k: v for k, v in data.items() if k not in known}
        if unknown:
            row["extra"] = orjson.dumps(unknown).decode()
        return row
