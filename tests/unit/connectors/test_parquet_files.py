"""Parquet file naming, hour folders and the replacement of a replayed batch's files."""

from __future__ import annotations

import uuid
from pathlib import Path

import pyarrow.parquet as pq

from playpipe.config import Config
from playpipe.connectors.parquet import CHUNK_ROWS, ParquetConnector, file_name, folder_of
from playpipe.connectors.parquet_store import LocalStore, fsspec_store
from playpipe.connectors.settings import ParquetSettings
from tests.unit.connectors.fakes import record


def test_names_and_folders() -> None:
    assert folder_of(1_732_579_200_000 + 3_600_000 * 13) == "dt=2024-11-26/hour=13"
    assert file_name("p.events", 2, 10, 99) == "p.events-2-10-99.parquet"


def test_a_replayed_batch_replaces_the_files_it_wrote(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.publish("dt=x/hour=00", "t-0-10-99.parquet", b"old", replaces="t-0-10-")
    store.publish("dt=x/hour=00", "t-0-100-150.parquet", b"next", replaces="t-0-100-")
    store.publish("dt=x/hour=00", "t-0-10-50.parquet", b"new", replaces="t-0-10-")
    names = sorted(p.name for p in (tmp_path / "dt=x/hour=00").iterdir())
    assert names == ["t-0-10-50.parquet", "t-0-100-150.parquet"]  # no temporary left


def write(path: str, offsets: list[int]) -> ParquetConnector:
    connector = ParquetConnector(ParquetSettings(name="lake", path=path), Config())
    connector.setup()
    batch = []
    for offset in offsets:
        rec = record(offset, event_type="playing", view_id="v1", timestamp=1_732_579_200_000)
        rec.data["custom"] = {"exp": "b"}
        rec.data["reason"] = "ended"  # an event-specific field: lands in `extra`
        batch.append(rec)
    assert connector.write(batch) is not None
    return connector


def test_event_files_are_typed_and_readable(tmp_path: Path) -> None:
    write(str(tmp_path), [5, 6, 7])
    (path,) = tmp_path.rglob("*.parquet")
    assert path.relative_to(tmp_path).as_posix() == "dt=2024-11-26/hour=00/t.events-0-5-7.parquet"
    rows = pq.read_table(path).to_pylist()
    assert [r["event_id"] for r in rows] == ["e5", "e6", "e7"]
    assert rows[0]["custom"] == '{"exp":"b"}' and rows[0]["extra"] == '{"reason":"ended"}'


def test_fsspec_urls_use_the_same_layout() -> None:
    root = f"memory://lake-{uuid.uuid4().hex[:6]}"
    connector = write(root, [1, 2])
    store = connector.store
    files = store.fs.glob(f"{store.root}/dt=*/hour=*/*.parquet")  # type: ignore[attr-defined]
    assert [f.rsplit("/", 1)[1] for f in files] == ["t.events-0-1-2.parquet"]
    connector.healthcheck()
    assert fsspec_store(root, {}).root.endswith(root.split("//")[1])


def test_a_batch_larger_than_one_conversion_chunk_is_one_file_in_order(tmp_path: Path) -> None:
    count = CHUNK_ROWS * 2 + 3
    write(str(tmp_path), list(range(count)))
    (path,) = tmp_path.rglob("*.parquet")
    assert path.name == f"t.events-0-0-{count - 1}.parquet"
    ids = pq.read_table(path, columns=["event_id"]).column(0).to_pylist()
    assert ids == [f"e{i}" for i in range(count)]
