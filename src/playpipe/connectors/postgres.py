"""The ``postgres`` connector: idempotent loads into PostgreSQL (needs ``playpipe[postgres]``).

Events: each batch is encoded in Python as typed COPY rows (``pg_copy``) and ``COPY``-ed
straight into the table, one atomic statement. If a row is already there (``event_id``,
the primary key: a batch redelivered after a crash), nothing of that COPY was written and
the same rows go, in one transaction, into a temporary staging table of the table's shape
and on with ``INSERT … SELECT … ON CONFLICT (event_id) DO NOTHING``: redelivery never adds
a row, and the common case costs PostgreSQL one COPY.

Views and metric windows: ``COPY`` the records as JSON text into a staging table, then one
upsert (see ``pg_schema``), so a corrected record replaces the earlier one.

If PostgreSQL rejects a batch because of bad data (a value of the wrong type, a missing
key), the records are loaded one by one and only the rejected ones go to the dead-letter
topic. Lost connections are retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import psycopg
from psycopg import sql

from playpipe.connectors.base import Connector, HealthcheckError, Record, WriteResult
from playpipe.connectors.pg_copy import LineEncoder, copy_columns
from playpipe.connectors.pg_schema import (
    STAGE_COLUMNS,
    default_table,
    row_type_ddl,
    shape_for,
    source,
    stage_ddl,
)
from playpipe.connectors.settings import PostgresSettings
from playpipe.connectors.shapes import window_key
from playpipe.errors import DeliveryError, TerminalError, TransientError

_BAD_DATA = (psycopg.errors.DataError, psycopg.errors.IntegrityError)


@dataclass
class Encoded:
    """A batch checked and encoded: the records to load, their COPY body (events), the
    records refused before loading."""

    records: list[Record]
    body: bytes
    failed: list[tuple[Record, DeliveryError]]


def extra_of(data: dict[str, Any], known: frozenset[str]) -> bytes | None:
    """Fields without a column of their own, as JSON (``None`` when there are none)."""
    unknown = data.keys() - known
    return orjson.dumps({k: data[k] for k in unknown}) if unknown else None


def copy_line(record: Record, known: frozenset[str] | None = None) -> bytes:
    """One line of COPY text format: origin, extra fields, the record as JSON.

    JSON never holds a raw tab or newline; its backslashes are doubled for COPY.
    """
    topic, partition, offset = record.origin
    extra = extra_of(record.data, known) if known is not None else None
    doc = orjson.dumps(record.data).replace(b"\\", b"\\\\")
    extra_text = extra.replace(b"\\", b"\\\\") if extra is not None else b"\\N"
    return f"{topic}\t{partition}\t{offset}\t".encode() + extra_text + b"\t" + doc + b"\n"


class PostgresConnector(Connector[PostgresSettings]):
    """Loads ``events``, ``views`` or ``metrics.<window>`` records into one table."""

    settings_class = PostgresSettings

    def requires_event_id(self) -> bool:
        return shape_for(self.settings.topic).kind == "events"

    def setup(self) -> None:
        s = self.settings
        self.shape = shape_for(s.topic)
        name = s.table or default_table(s.topic)
        self.table = sql.Identifier(s.db_schema, name)
        self.stage = sql.Identifier(f"_playpipe_stage_{name}")
        self.row_type = sql.Identifier(f"_playpipe_row_{name}")
        events = self.shape.kind == "events"
        self.known = frozenset(c.name for c in self.shape.columns) if events else None
        self.encoder = LineEncoder(self.shape.columns) if events else None
        self.typed_stage = sql.Identifier(f"_playpipe_typed_{name}")
        self.conn: psycopg.Connection[Any] | None = None
        self._connect(for_healthcheck=True)

    # -- connection ----------------------------------------------------------------------
    def _connect(self, for_healthcheck: bool = False) -> psycopg.Connection[Any]:
        if self.conn is not None and not self.conn.closed:
            return self.conn
        try:
            conn = psycopg.connect(self.settings.dsn, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            if for_healthcheck:
                raise HealthcheckError(
                    "dsn",
                    f"cannot connect to PostgreSQL ({str(exc).strip()})",
                    "Check host, port, database, user and password in `dsn`, "
                    "and that the server accepts connections from here.",
                ) from None
            raise TransientError(f"cannot connect to PostgreSQL: {exc}") from None
        self.table_sql = self.table.as_string(conn)
        self.stage_sql = self.stage.as_string(conn)
        row_type = self.row_type.as_string(conn)
        if self.settings.create_table:
            conn.execute(self.shape.create(self.table_sql).encode())
        conn.execute(stage_ddl(self.stage_sql).encode())
        conn.execute(row_type_ddl(self.shape, row_type).encode())
        self.staged_insert = self.shape.insert(
            self.table_sql, source(self.shape, self.stage_sql, row_type)
        ).encode()
        self.row_insert = self.shape.insert(
            self.table_sql, source(self.shape, None, row_type)
        ).encode()
        if self.encoder is not None:
            self._prepare_typed(conn)
        self.conn = conn
        return conn

    def _prepare_typed(self, conn: psycopg.Connection[Any]) -> None:
        """Statements of the typed path: COPY into the table, or into a staging twin."""
        stage = self.typed_stage.as_string(conn)
        conn.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {self.table_sql} INCLUDING DEFAULTS)"
            " ON COMMIT DELETE ROWS".encode()
        )
        columns = copy_columns(self.shape.columns)
        self.copy_direct = f"COPY {self.table_sql} ({columns}) FROM STDIN".encode()
        self.copy_staged = f"COPY {stage} ({columns}) FROM STDIN".encode()
        self.typed_insert = (
            f"INSERT INTO {self.table_sql} ({columns}) SELECT {columns} FROM {stage} "
            "ON CONFLICT (event_id) DO NOTHING"
        ).encode()

    def _reset(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = None

    # -- writing -------------------------------------------------------------------------
    def _invalid(self, record: Record) -> str | None:
        data = record.data
        if self.shape.kind == "events":
            ok = isinstance(data.get("event_id"), str) and data["event_id"]
            return None if ok else "the record has no event_id (the table's primary key)"
        if self.shape.kind == "views":
            return None if isinstance(data.get("view_id"), str) else "the record has no view_id"
        start, size, _ = window_key(data)
        if start is None or size is None:
            return "the record has no integer `window_start_ms` and `size_ms`"
        return None

    def prepare(self, batch: list[Record]) -> Encoded:
        """Check the records and, for events, encode the COPY body (no I/O: this runs while
        the previous batch is still loading)."""
        failed: list[tuple[Record, DeliveryError]] = []
        good: list[Record] = []
        for record in batch:
            problem = self._invalid(record)
            if problem:
                failed.append((record, TerminalError(problem)))
            else:
                good.append(record)
        body = b""
        if self.encoder is not None:
            body, good, unfit = self.encoder.encode(good)
            failed += unfit
        return Encoded(good, body, failed)

    def write(self, batch: list[Record]) -> WriteResult | None:
        return self.write_prepared(batch, self.prepare(batch))

    def write_prepared(self, batch: list[Record], prepared: object) -> WriteResult | None:
        assert isinstance(prepared, Encoded)
        result = WriteResult(failed=list(prepared.failed))
        good = prepared.records
        if not good:
            return result
        try:
            if self.encoder is not None:
                self._load_typed(prepared.body)
            else:
                self._load(good)
        except _BAD_DATA:
            result.failed += self._load_one_by_one(good)
        except psycopg.OperationalError as exc:
            self._reset()
            raise TransientError(f"PostgreSQL: {str(exc).strip()}") from None
        except psycopg.Error as exc:
            self._reset()
            raise TransientError(f"PostgreSQL: {type(exc).__name__}: {str(exc).strip()}") from None
        return result

    def _load_typed(self, body: bytes) -> None:
        """Events: one COPY into the table; through the staging table if a row exists."""
        conn = self._connect()
        try:
            with conn.cursor() as cur, cur.copy(self.copy_direct) as copy:
                copy.write(body)
        except psycopg.errors.UniqueViolation:  # redelivered: nothing of the COPY was kept
            with conn.transaction(), conn.cursor() as cur:
                with cur.copy(self.copy_staged) as copy:
                    copy.write(body)
                cur.execute(self.typed_insert)

    def _load(self, records: list[Record]) -> None:
        conn = self._connect()
        copy_sql = f"COPY {self.stage_sql} ({STAGE_COLUMNS}) FROM STDIN".encode()
        known = self.known
        with conn.transaction(), conn.cursor() as cur:
            with cur.copy(copy_sql) as copy:
                copy.write(b"".join(copy_line(r, known) for r in records))
            cur.execute(self.staged_insert)

    def _load_one_by_one(self, records: list[Record]) -> list[tuple[Record, DeliveryError]]:
        conn = self._connect()
        failed: list[tuple[Record, DeliveryError]] = []
        with conn.transaction():
            for record in records:
                topic, partition, offset = record.origin
                extra = extra_of(record.data, self.known) if self.known else None
                params = {
                    "doc": orjson.dumps(record.data).decode(),
                    "extra": extra.decode() if extra is not None else None,
                    "topic": topic,
                    "partition": partition,
                    "offset": offset,
                }
                try:
                    with conn.transaction():
                        conn.execute(self.row_insert, params)
                except _BAD_DATA as exc:
                    message = str(exc).strip().splitlines()[0]
                    failed.append((record, TerminalError(f"PostgreSQL rejected it: {message}")))
        return failed

    # -- lifecycle -----------------------------------------------------------------------
    def healthcheck(self) -> None:
        """Connect (on a connection of its own: it may run beside a write) and check the
        table exists and takes inserts."""
        self._connect(for_healthcheck=True)
        try:
            with psycopg.connect(self.settings.dsn, autocommit=True, connect_timeout=10) as conn:
                self._check_table(conn)
        except psycopg.OperationalError as exc:
            raise HealthcheckError(
                "dsn", f"cannot connect to PostgreSQL ({str(exc).strip()})", "Check `dsn`."
            ) from None

    def _check_table(self, conn: psycopg.Connection[Any]) -> None:
        table = self.table.as_string(conn)
        try:
            conn.execute(sql.SQL("SELECT 1 FROM {} LIMIT 0").format(self.table))
            row = conn.execute("SELECT has_table_privilege(%s, 'INSERT')", (table,)).fetchone()
        except psycopg.errors.UndefinedTable:
            raise HealthcheckError(
                "table",
                f"the table {table} does not exist",
                "Create it, or set `create_table = true` to let playpipe create it.",
            ) from None
        except psycopg.Error as exc:
            raise HealthcheckError(
                "dsn", f"PostgreSQL: {str(exc).strip()}", "Check `dsn`."
            ) from None
        if not row or not row[0]:
            raise HealthcheckError(
                "dsn", f"the user of `dsn` may not INSERT into {table}", "GRANT INSERT to it."
            )

    def close(self) -> None:
        self._reset()
