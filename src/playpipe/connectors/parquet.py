"""The ``parquet`` connector: Parquet files in a folder or an object store (``playpipe[parquet]``).

Layout: ``<path>/dt=YYYY-MM-DD/hour=HH/<topic>-<partition>-<first>-<last>.parquet``, where
the date and hour come from each record's ``timestamp`` (UTC) and ``first``/``last`` are the
Kafka offsets of the file's first and last record. A file is written under a temporary name
and renamed, so readers never see half a file.

Exactly once per record, even across crashes: offsets are committed after every batch, so
after a crash the batch in flight is read again from the same first offset; its files get
the same ``<topic>-<partition>-<first>-`` prefix and replace the files the crashed run wrote
(an older file with that prefix but another last offset is removed on rename).

A ``path`` with a scheme (``s3://bucket/prefix``, ``gs://…``, ``memory://…``) goes through
fsspec (``playpipe[s3]`` for S3); ``storage_options`` are passed to its filesystem.
"""

from __future__ import annotations

import functools
import io
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from playpipe.connectors.base import Connector, HealthcheckError, Record, WriteResult
from playpipe.connectors.parquet_schema import RowShaper
from playpipe.connectors.parquet_store import LocalStore, Store, fsspec_store
from playpipe.connectors.settings import ParquetSettings
from playpipe.errors import DeliveryError, TerminalError, TransientError

GroupKey = tuple[str, str, int]  # (dt=…/hour=… folder, topic, partition)


HOUR_MS = 3_600_000
CHUNK_ROWS = 4096
"""Rows converted to Arrow at a time: past a few thousand, the column-by-column passes over
the dicts no longer stay in the CPU cache (10,000 rows cost a third more per row than 5,000)."""


@functools.lru_cache(maxsize=4096)
def _folder_of_hour(hour: int) -> str:
    t = time.gmtime(hour * 3600)
    return f"dt={t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}/hour={t.tm_hour:02d}"


def folder_of(timestamp_ms: int) -> str:
    """``dt=YYYY-MM-DD/hour=HH`` of a UTC time in ms."""
    return _folder_of_hour(timestamp_ms // HOUR_MS)


def file_name(topic: str, partition: int, first: int, last: int) -> str:
    """``<topic>-<partition>-<first>-<last>.parquet``."""
    return f"{topic}-{partition}-{first}-{last}.parquet"


def group(batch: list[Record]) -> dict[GroupKey, list[Record]]:
    """Records by output folder and topic-partition, in offset order."""
    groups: dict[GroupKey, list[Record]] = defaultdict(list)
    hour, folder = -1, ""
    for record in batch:
        stamp = record.data.get("timestamp")
        when = stamp if type(stamp) is int else record.timestamp_ms
        if when // HOUR_MS != hour:  # records of a batch mostly share their hour
            hour = when // HOUR_MS
            folder = _folder_of_hour(hour)
        groups[(folder, record.topic, record.partition)].append(record)
    return groups


class ParquetConnector(Connector[ParquetSettings]):
    """Writes each batch as one file per hour folder and topic-partition."""

    settings_class = ParquetSettings

    def setup(self) -> None:
        s = self.settings
        self.shaper = RowShaper(s.topic)
        self.compression = None if s.compression == "none" else s.compression
        self.store: Store = (
            fsspec_store(s.path, s.storage_options) if "://" in s.path else LocalStore(Path(s.path))
        )

    def _table(
        self, records: list[Record]
    ) -> tuple[pa.Table | None, list[tuple[Record, DeliveryError]]]:
        rows = [self.shaper(r.data) for r in records]
        schema = self.shaper.schema
        try:
            chunks = [
                pa.Table.from_pylist(rows[i : i + CHUNK_ROWS], schema=schema)
                for i in range(0, len(rows), CHUNK_ROWS)
            ]
            return pa.concat_tables(chunks) if len(chunks) > 1 else chunks[0], []
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            pass
        good: list[dict[str, Any]] = []
        failed: list[tuple[Record, DeliveryError]] = []
        for record, row in zip(records, rows, strict=True):
            try:
                pa.Table.from_pylist([row], schema=self.shaper.schema)
                good.append(row)
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
                failed.append((record, TerminalError(f"does not fit the Parquet schema: {exc}")))
        table = pa.Table.from_pylist(good, schema=self.shaper.schema) if good else None
        return table, failed

    def _encode(self, table: pa.Table) -> bytes:
        sink = io.BytesIO()
        pq.write_table(table, sink, compression=self.compression)
        return sink.getvalue()

    def write(self, batch: list[Record]) -> WriteResult | None:
        result = WriteResult()
        folders: set[str] = set()
        for (folder, topic, partition), records in group(batch).items():
            table, failed = self._table(records)
            result.failed += failed
            if table is None:
                continue
            dead = {id(f) for f, _ in failed}
            kept = [r for r in records if id(r) not in dead] if dead else records
            name = file_name(topic, partition, kept[0].offset, kept[-1].offset)
            prefix = f"{topic}-{partition}-{kept[0].offset}-"
            try:
                self.store.publish(folder, name, self._encode(table), prefix, sync=False)
            except OSError as exc:
                raise TransientError(f"cannot write {folder}/{name}: {exc}") from None
            folders.add(folder)
        for folder in folders:  # before the batch counts as written (and is committed)
            try:
                self.store.sync_folder(folder)
            except OSError as exc:
                raise TransientError(f"cannot sync {folder}: {exc}") from None
        return result

    def healthcheck(self) -> None:
        probe = f"_playpipe_probe_{uuid.uuid4().hex}"
        try:
            self.store.probe(probe)
        except OSError as exc:
            raise HealthcheckError(
                "path",
                f"cannot write and delete a file under {self.settings.path} ({exc})",
                "Point `path` at a writable folder or bucket (and check `storage_options` "
                "credentials for an object store).",
            ) from None
