"""PostgreSQL tables for playpipe topics, derived from the data dictionary.

Three shapes, chosen by the topic:

- ``events``: one row per event, ``event_id`` the primary key; typed columns for the
  envelope (text, bigint, boolean, ``timestamptz`` for ``client_ts``/``received_at``/
  ``event_ts``/``timestamp``), ``jsonb`` for each node, ``extra`` for event-specific fields.
  Loaded with ``ON CONFLICT (event_id) DO NOTHING``: redelivery never duplicates a row.
- ``views``: one row per ``view_id``, the whole record in ``record``; upserted.
- ``metrics.<window>``: one row per (``window_start``, ``window_size_ms``, ``dimensions``);
  upserted, so a corrected window replaces the earlier one.

Every batch is COPYed as JSON text into a temporary staging table and moved with one
``INSERT … SELECT``: PostgreSQL parses and types the fields, Python only encodes JSON.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from msgspec import inspect

from playpipe.connectors.shapes import WINDOW_SIZE, WINDOW_START, json_coalesce
from playpipe.dictionary import BaseEvent

TIMESTAMP_FIELDS = frozenset({"client_ts", "received_at", "event_ts", "timestamp"})
ORIGIN = "_topic, _partition, _offset"


@dataclass(frozen=True)
class Column:
    """One typed column and the SQL that extracts it from the staged JSON ``d``."""

    name: str
    sql_type: str
    override: str = ""

    @property
    def expression(self) -> str:
        if self.override:
            return self.override
        path = f"d->>'{self.name}'"
        if self.sql_type == "text":
            return path
        if self.sql_type == "timestamptz":
            return f"to_timestamp(({path})::bigint / 1000.0)"
        if self.sql_type == "jsonb":
            return f"NULLIF(d->'{self.name}', 'null'::jsonb)"
        return f"({path})::{self.sql_type}"

    @property
    def from_row(self) -> str:
        """SQL reading the column from ``r``, the record populated from the JSON document."""
        value = f'(r)."{self.name}"'
        if self.sql_type == "timestamptz":
            return f"to_timestamp({value} / 1000.0)"
        if self.sql_type == "jsonb":
            return f"NULLIF({value}, 'null'::jsonb)"
        return value

    @property
    def row_type(self) -> str:
        """The column's type in the populated record (times stay integer milliseconds)."""
        return "bigint" if self.sql_type == "timestamptz" else self.sql_type


def _sql_type(name: str, tp: inspect.Type) -> str:
    while isinstance(tp, (inspect.Metadata, inspect.UnionType)):
        if isinstance(tp, inspect.Metadata):
            tp = tp.type
        else:
            tp = next(t for t in tp.types if not isinstance(t, inspect.NoneType))
    if isinstance(tp, inspect.IntType):
        return "timestamptz" if name in TIMESTAMP_FIELDS else "bigint"
    if isinstance(tp, inspect.BoolType):
        return "boolean"
    if isinstance(tp, (inspect.StrType, inspect.LiteralType)):
        return "text"
    return "jsonb"


@functools.cache
def event_columns() -> tuple[Column, ...]:
    """Columns of the events table, in dictionary order (``event_id`` first)."""
    info = inspect.type_info(BaseEvent)
    assert isinstance(info, inspect.StructType)
    columns = [Column("event_id", "text"), Column("event_type", "text")]
    columns += [
        Column(f.encode_name, _sql_type(f.encode_name, f.type))
        for f in info.fields
        if f.encode_name != "event_id"
    ]
    columns.append(Column("timestamp", "timestamptz"))
    return tuple(columns)


@dataclass(frozen=True)
class TableShape:
    """DDL and DML of one table shape, for a quoted table name."""

    kind: str  # events | views | metrics
    key: tuple[str, ...]
    columns: tuple[Column, ...]

    def create(self, table: str) -> str:
        cols = [f'"{c.name}" {c.sql_type}' for c in self.columns]
        if self.kind == "events":
            cols.append("extra jsonb")
        else:
            cols.append("record jsonb NOT NULL")
        cols += ["_topic text", "_partition integer", "_offset bigint"]
        cols.append("_loaded_at timestamptz NOT NULL DEFAULT now()")
        key = ", ".join(f'"{k}"' for k in self.key)
        body = ",\n  ".join([*cols, f"PRIMARY KEY ({key})"])
        return f"CREATE TABLE IF NOT EXISTS {table} (\n  {body}\n)"

    def insert(self, table: str, source: str) -> str:
        """``INSERT … SELECT`` from ``source`` (see :func:`source`)."""
        names = [f'"{c.name}"' for c in self.columns]
        exprs = [c.expression for c in self.columns]
        if self.kind == "events":
            exprs = [c.from_row for c in self.columns]
            select = f"SELECT {', '.join(exprs)}, extra::jsonb, {ORIGIN} FROM {source}"
            return (
                f"INSERT INTO {table} ({', '.join(names)}, extra, {ORIGIN}) {select} "
                "ON CONFLICT (event_id) DO NOTHING"
            )
        names.append("record")
        exprs.append("d")
        aliased = [f"{e} AS {n}" for e, n in zip(exprs, names, strict=True)]
        key = ", ".join(f'"{k}"' for k in self.key)
        # One row per key and batch (the latest read wins), or the upsert would hit it twice.
        select = (
            f"SELECT DISTINCT ON ({key}) * FROM (SELECT {', '.join(aliased)}, {ORIGIN} "
            f"FROM {source}) s ORDER BY {key}, _partition, _offset DESC"
        )
        updates = ", ".join(
            f"{n} = EXCLUDED.{n}" for n in [*names, "_topic", "_partition", "_offset"]
        )
        return (
            f"INSERT INTO {table} AS t ({', '.join(names)}, {ORIGIN}) {select} "
            f"ON CONFLICT ({key}) DO UPDATE SET {updates}, _loaded_at = now() "
            "WHERE t._partition IS DISTINCT FROM EXCLUDED._partition "
            "OR t._offset <= EXCLUDED._offset"
        )


STAGE_COLUMNS = "_topic, _partition, _offset, extra, doc"
ORIGIN_PARAMS = (
    "%(topic)s::text AS _topic, %(partition)s::integer AS _partition, %(offset)s::bigint AS _offset"
)


def stage_ddl(stage: str) -> str:
    """The temporary staging table, emptied at every commit."""
    return (
        f"CREATE TEMP TABLE IF NOT EXISTS {stage} (_topic text, _partition integer, "
        "_offset bigint, extra text, doc text) ON COMMIT DELETE ROWS"
    )


def row_type_ddl(shape: TableShape, name: str) -> str:
    """A temporary table whose row type ``jsonb_populate_record`` fills (events only)."""
    cols = ", ".join(f'"{c.name}" {c.row_type}' for c in shape.columns)
    return f"CREATE TEMP TABLE IF NOT EXISTS {name} ({cols})"


def source(shape: TableShape, stage: str | None, row_type: str) -> str:
    """The relation an insert reads: the staging table, or one row of parameters (``None``).

    Events expose ``r`` (the document populated into ``row_type`` in one pass) and ``extra``;
    views and windows expose the document as ``d``. ``OFFSET 0`` keeps PostgreSQL from
    inlining the subquery, which would parse the document once per column.
    """
    doc = "doc::jsonb" if stage else "%(doc)s::jsonb"
    extra = "extra" if stage else "%(extra)s AS extra"
    origin = ORIGIN if stage else ORIGIN_PARAMS
    value = (
        f"jsonb_populate_record(NULL::{row_type}, {doc}) AS r"
        if shape.kind == "events"
        else f"{doc} AS d"
    )
    tail = f" FROM {stage} OFFSET 0" if stage else ""
    return f"(SELECT {value}, {extra}, {origin}{tail}) staged"


def shape_for(topic: str) -> TableShape:
    """The table shape of a short topic name."""
    if topic == "views":
        views = (Column("view_id", "text"), Column("timestamp", "timestamptz"))
        return TableShape("views", ("view_id",), views)
    if topic.startswith("metrics."):
        start, size = json_coalesce(WINDOW_START), json_coalesce(WINDOW_SIZE)
        cols = (
            Column("window_start", "timestamptz", f"to_timestamp(({start})::bigint / 1000.0)"),
            Column("window_size_ms", "bigint", f"({size})::bigint"),
            Column("dimensions", "jsonb", "COALESCE(d->'dimensions', '{}'::jsonb)"),
            Column("timestamp", "timestamptz"),
        )
        return TableShape("metrics", ("window_start", "window_size_ms", "dimensions"), cols)
    return TableShape("events", ("event_id",), event_columns())


def default_table(topic: str) -> str:
    """``events`` -> ``playpipe_events``, ``metrics.10s`` -> ``playpipe_metrics_10s``."""
    return "playpipe_" + topic.replace(".", "_").replace("-", "_")
