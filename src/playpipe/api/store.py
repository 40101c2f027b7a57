"""The embedded metrics store: window results and view records in one DuckDB file.

Writes come from one thread (:mod:`playpipe.api.ingest`); reads from any thread, each with
its own cursor (DuckDB gives every statement a consistent snapshot). A batch of records and
the Kafka offsets that follow it are written in one transaction, so the store always knows
exactly which records it holds: a restart resumes from its own offsets, and a store file
that was deleted is rebuilt from the start of the (compacted) topics.

Upserts keep the newest truth: a window result replaces the stored one of the same
``(window, start, dimensions)`` when its ``revision`` is at least as high; a view record
replaces the stored one of the same ``view_id`` on the same rule.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import msgspec

from playpipe.api.records import (
    STANDARD_DIMENSIONS,
    WINDOW_METRIC_FIELDS,
    ViewIn,
    WindowIn,
    dimension_map,
    text,
)
from playpipe.errors import ConfigError

__all__ = [
    "STORE_FILE",
    "Batch",
    "MetricsStore",
    "WriteResult",
    "dim_key",
    "dim_set_of",
    "window_key",
]

STORE_FILE = "metrics.duckdb"

_COUNT_METRICS = {
    "attempts",
    "starts",
    "starts_active",
    "concurrent_viewers",
    "start_failures",
    "exits_before_start",
    "playback_failures",
    "playing_time_ms",
    "rebuffering_time_ms",
    "watch_time_ms",
    "rebuffer_count",
}

WINDOW_COLUMNS: dict[str, str] = {
    "wkey": "VARCHAR PRIMARY KEY",
    "window": "VARCHAR NOT NULL",
    "window_start_ms": "BIGINT NOT NULL",
    "window_end_ms": "BIGINT",
    "size_ms": "BIGINT",
    "dim_set": "VARCHAR NOT NULL",
    "dims": "MAP(VARCHAR, VARCHAR)",
    "revision": "INTEGER NOT NULL",
    **{m: ("BIGINT" if m in _COUNT_METRICS else "DOUBLE") for m in WINDOW_METRIC_FIELDS},
}

VIEW_COLUMNS: dict[str, str] = {
    "view_id": "VARCHAR PRIMARY KEY",
    "start_ms": "BIGINT",
    "end_ms": "BIGINT",
    "revision": "INTEGER NOT NULL",
    "end_reason": "VARCHAR",
    "outcome": "VARCHAR",
    "attempted": "BOOLEAN",
    "started": "BOOLEAN",
    "play_intent_ms": "BIGINT",
    "first_frame_ms": "BIGINT",
    "startup_time_ms": "BIGINT",
    "playing_time_ms": "BIGINT",
    "rebuffering_time_ms": "BIGINT",
    "paused_time_ms": "BIGINT",
    "seeking_time_ms": "BIGINT",
    "ad_time_ms": "BIGINT",
    "watch_time_ms": "BIGINT",
    "rebuffer_count": "BIGINT",
    "rebuffer_ratio": "DOUBLE",
    "avg_bitrate_kbps": "DOUBLE",
    "experience_score": "DOUBLE",
    "error_code": "VARCHAR",
    "error_business": "BOOLEAN",
    "property": "VARCHAR",
    "dims": "MAP(VARCHAR, VARCHAR)",
    "record": "VARCHAR",
}
"""``record`` keeps the whole view record as received (JSON), for the view explorer."""

_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS windows ("
    + ", ".join(f'"{name}" {kind}' for name, kind in WINDOW_COLUMNS.items())
    + ")",
    "CREATE TABLE IF NOT EXISTS views ("
    + ", ".join(f'"{name}" {kind}' for name, kind in VIEW_COLUMNS.items())
    + ")",
    "CREATE TABLE IF NOT EXISTS offsets ("
    "topic VARCHAR, kafka_partition INTEGER, next_offset BIGINT, "
    "PRIMARY KEY (topic, kafka_partition))",
]


def dim_set_of(dimensions: Iterable[str]) -> str:
    """The canonical name of a dimension set: its names sorted, comma-joined (``""``: all)."""
    return ",".join(sorted(dimensions))


def dim_key(dimensions: dict[str, Any]) -> str:
    """The canonical text of a dimension key, e.g. ``cdn=akamai,country=FR``."""
    return ",".join(f"{name}={text(dimensions[name])}" for name in sorted(dimensions))


@dataclass
class Batch:
    """Records read from Kafka and the offsets that follow them, written as one transaction."""

    windows: list[WindowIn] = field(default_factory=list)
    views: list[tuple[ViewIn, bytes]] = field(default_factory=list)
    """Each view with its record as received (kept for the view explorer)."""
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    """(topic, partition) → the next offset to read."""


@dataclass
class WriteResult:
    """What a write changed: the windows and views that are now the stored truth."""

    windows: list[WindowIn]
    views: list[ViewIn]


def _json_type(columns: dict[str, str]) -> str:
    def kind(sql: str) -> str:
        return sql.replace(" PRIMARY KEY", "").replace(" NOT NULL", "")

    return msgspec.json.encode({name: kind(sql) for name, sql in columns.items()}).decode()


def _upsert_sql(table: str, columns: dict[str, str], key: str) -> str:
    names = list(columns)
    updates = ", ".join(f'"{n}" = excluded."{n}"' for n in names if n != key)
    return (
        f"INSERT INTO {table} SELECT "
        + ", ".join(f'r."{n}"' for n in names)
        + f" FROM (SELECT unnest(from_json(?, '[{_json_type(columns)}]')) AS r) "
        + f"ON CONFLICT ({key}) DO UPDATE SET {updates} "
        + f"WHERE excluded.revision >= {table}.revision"
    )


_WINDOW_UPSERT = _upsert_sql("windows", WINDOW_COLUMNS, "wkey")
_VIEW_UPSERT = _upsert_sql("views", VIEW_COLUMNS, "view_id")


def _window_row(w: WindowIn) -> dict[str, Any]:
    row: dict[str, Any] = {
        "wkey": window_key(w),
        "window": w.window,
        "window_start_ms": w.window_start_ms,
        "window_end_ms": w.window_end_ms,
        "size_ms": w.size_ms,
        "dim_set": dim_set_of(w.dimensions),
        "dims": {k: text(v) for k, v in w.dimensions.items()},
        "revision": w.revision,
    }
    row.update({m: getattr(w, m) for m in WINDOW_METRIC_FIELDS})
    return row


def _view_row(v: ViewIn, raw: bytes) -> dict[str, Any]:
    names = [n for n in VIEW_COLUMNS if n not in ("error_code", "error_business", "dims")]
    row: dict[str, Any] = {n: getattr(v, n) for n in names if n != "record"}
    row["record"] = raw.decode("utf-8", "replace")
    row["error_code"] = v.fatal_error.code if v.fatal_error else None
    row["error_business"] = v.fatal_error.business if v.fatal_error else None
    row["dims"] = dimension_map(v)
    return row


class MetricsStore:
    """The DuckDB file of window results and view records."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(str(path))
        except duckdb.IOException as exc:
            raise ConfigError(
                f"Cannot open the metrics store {path}: {exc}. Another `playpipe api` may be "
                "using it: stop it, or give this one its own `api.data_dir`."
            ) from None
        for statement in _SCHEMA:
            self._con.execute(statement)
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._known_lock = threading.Lock()
        # Replaced whole, never changed in place, so readers in other threads can iterate.
        self.dim_sets: dict[str, frozenset[str]] = {}
        """Window name → the dimension sets stored for it."""
        self.dimension_names: frozenset[str] = frozenset(STANDARD_DIMENSIONS)
        """Standard dimensions and every custom one seen."""
        self._load_known()

    @classmethod
    def in_dir(cls, data_dir: Path | str) -> MetricsStore:
        """The store file ``metrics.duckdb`` in ``data_dir``."""
        return cls(Path(data_dir) / STORE_FILE)

    def _load_known(self) -> None:
        rows = self._con.execute('SELECT DISTINCT "window", dim_set FROM windows').fetchall()
        for window, dims in rows:
            self._note_dim_set(window, dims)
        keys = self._con.execute("SELECT DISTINCT unnest(map_keys(dims)) FROM views").fetchall()
        self._note_names(k for (k,) in keys)

    def _note_dim_set(self, window: str, dims: str) -> None:
        with self._known_lock:
            known = self.dim_sets.get(window, frozenset())
            if dims not in known:
                self.dim_sets = {**self.dim_sets, window: known | {dims}}
        self._note_names(n for n in dims.split(",") if n)

    def _note_names(self, names: Iterable[str]) -> None:
        with self._known_lock:
            new = set(names) - self.dimension_names
            if new:
                self.dimension_names = self.dimension_names | new

    # -- reading ------------------------------------------------------------------------
    def reader(self) -> duckdb.DuckDBPyConnection:
        """A cursor of the calling thread (created on first use)."""
        cursor: duckdb.DuckDBPyConnection | None = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self._con.cursor()
            self._local.cursor = cursor
        return cursor

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a read-only statement on this thread's cursor."""
        return self.reader().execute(sql, params or []).fetchall()

    def offsets(self) -> dict[tuple[str, int], int]:
        """(topic, partition) → next offset to read, as committed with the rows."""
        rows = self.query("SELECT topic, kafka_partition, next_offset FROM offsets")
        return {(t, p): o for t, p, o in rows}

    # -- writing ------------------------------------------------------------------------
    def write(self, batch: Batch) -> WriteResult:
        """Upsert the batch's windows and views and record its offsets, in one transaction."""
        windows = _newest(batch.windows)
        views: dict[str, tuple[ViewIn, bytes]] = {}
        for view, raw in batch.views:
            old = views.get(view.view_id)
            if old is None or view.revision >= old[0].revision:
                views[view.view_id] = (view, raw)
        with self._write_lock:
            con = self._con
            changed_windows = self._fresh_windows(windows)
            changed_views = self._fresh_views(views)
            con.begin()
            try:
                if windows:
                    rows = [_window_row(w) for w in windows.values()]
                    con.execute(_WINDOW_UPSERT, [msgspec.json.encode(rows).decode()])
                if views:
                    rows = [_view_row(v, raw) for v, raw in views.values()]
                    con.execute(_VIEW_UPSERT, [msgspec.json.encode(rows).decode()])
                for (topic, partition), offset in batch.offsets.items():
                    con.execute(
                        "INSERT OR REPLACE INTO offsets VALUES (?, ?, ?)",
                        [topic, partition, offset],
                    )
                con.commit()
            except Exception:
                con.rollback()
                raise
        for w in changed_windows:
            self._note_dim_set(w.window, dim_set_of(w.dimensions))
        self._note_names(name for v, _ in views.values() for name in v.custom)
        return WriteResult(changed_windows, changed_views)

    def _fresh_windows(self, windows: dict[str, WindowIn]) -> list[WindowIn]:
        """The windows whose revision is at least the stored one (what will change)."""
        if not windows:
            return []
        stored = dict(
            self._con.execute(
                "SELECT wkey, revision FROM windows WHERE wkey IN (SELECT unnest(?))",
                [list(windows)],
            ).fetchall()
        )
        return [w for k, w in windows.items() if w.revision >= stored.get(k, -1)]

    def _fresh_views(self, views: dict[str, tuple[ViewIn, bytes]]) -> list[ViewIn]:
        if not views:
            return []
        stored = dict(
            self._con.execute(
                "SELECT view_id, revision FROM views WHERE view_id IN (SELECT unnest(?))",
                [list(views)],
            ).fetchall()
        )
        return [v for k, (v, _) in views.items() if v.revision >= stored.get(k, -1)]

    def prune(self, retention_days: int) -> int:
        """Delete windows and views older than ``retention_days`` before the newest one.

        Age is measured in event time, from the newest window or view in the store, so a
        store of old data (a replay, a test) is not emptied by the wall clock.
        """
        with self._write_lock:
            row = self._con.execute(
                "SELECT greatest((SELECT max(window_start_ms) FROM windows),"
                " (SELECT max(end_ms) FROM views))"
            ).fetchone()
            if row is None or row[0] is None:
                return 0
            cutoff = int(row[0]) - retention_days * 86_400_000
            before = self._count()
            self._con.execute("DELETE FROM windows WHERE window_start_ms < ?", [cutoff])
            self._con.execute("DELETE FROM views WHERE end_ms < ?", [cutoff])
            return before - self._count()

    def _count(self) -> int:
        row = self._con.execute(
            "SELECT (SELECT count(*) FROM windows) + (SELECT count(*) FROM views)"
        ).fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        """Checkpoint and close the file."""
        with self._write_lock:
            self._con.close()


def window_key(w: WindowIn) -> str:
    """The stored key of a window result: window, start and dimension key."""
    return f"{w.window}|{w.window_start_ms}|{dim_key(w.dimensions)}"


def _newest(windows: list[WindowIn]) -> dict[str, WindowIn]:
    """One window per key: the highest revision, the later one on a tie."""
    into: dict[str, WindowIn] = {}
    for w in windows:
        key = window_key(w)
        old = into.get(key)
        if old is None or w.revision >= old.revision:
            into[key] = w
    return into
