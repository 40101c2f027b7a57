"""The durable spool: round trips, limits, torn and corrupt records, rollover, threads."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from playpipe.collector.spool import (
    MAGIC,
    Spool,
    SpoolError,
    SpoolFullError,
    SpoolRecord,
    encode_record,
)

MiB = 1024 * 1024


def record(i: int, topic: str = "playpipe.beacons.raw") -> SpoolRecord:
    return SpoolRecord(
        topic,
        f"view-{i % 7}".encode(),
        b'{"event_id":"%d","payload":"%s"}' % (i, b"x" * (i % 50)),
        [("content-type", b"application/json"), ("seq", str(i).encode())],
    )


def batch(start: int, size: int) -> list[SpoolRecord]:
    return [record(i) for i in range(start, start + size)]


def replay(spool: Spool) -> list[SpoolRecord]:
    return [rec for path in spool.iter_segments() for rec in spool.read_segment(path)]


@pytest.fixture
def spool(tmp_path: Path) -> Iterator[Spool]:
    with Spool(tmp_path / "spool", max_bytes=64 * MiB) as opened:
        yield opened


def test_append_seal_replay_round_trip(spool: Spool) -> None:
    spool.append(batch(0, 10))
    spool.append([SpoolRecord("t", None, b"", [])])
    assert spool.pending()
    assert spool.active_has_data()
    assert spool.sealed_segments() == []  # the active segment is not replayed
    sealed = spool.seal()
    assert sealed is not None
    assert sealed.name == "spool-000000000001.log"
    assert spool.sealed_segments() == [sealed]
    assert replay(spool) == [*batch(0, 10), SpoolRecord("t", None, b"", [])]
    assert spool.stats.read_records == 11
    assert spool.seal() is None  # nothing active any more


def test_records_keep_every_field(spool: Spool) -> None:
    original = SpoolRecord(
        "a.topic", b"\x00\xffkey", bytes(range(256)), [("h", b"\x00"), ("h", b"")]
    )
    spool.append([original])
    spool.seal()
    (got,) = replay(spool)
    assert got == original
    assert isinstance(got.headers[0], tuple)


def test_append_fsyncs_before_returning(spool: Spool) -> None:
    spool.append(batch(0, 3))
    assert spool.stats.fsyncs == 1
    spool.append(batch(3, 3), sync=False)
    spool.append(batch(6, 3), sync=False)
    assert spool.stats.fsyncs == 1
    spool.sync()  # one fsync covers both
    assert spool.stats.fsyncs == 2
    spool.sync()  # nothing new: no fsync
    assert spool.stats.fsyncs == 2
    assert spool.stats.appended_batches == 3
    assert spool.stats.appended_records == 9


def test_appended_records_survive_a_process_that_never_closed(tmp_path: Path) -> None:
    # A child appends (append returns: fsynced) and exits without close() or seal().
    directory = tmp_path / "spool"
    code = (
        "import os, sys\n"
        "from playpipe.collector.spool import Spool, SpoolRecord\n"
        "spool = Spool(sys.argv[1], max_bytes=1 << 30)\n"
        "for i in range(5):\n"
        "    spool.append([SpoolRecord('t', None, b'%d-%d' % (i, j), []) for j in range(4)])\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", code, str(directory)], check=True, timeout=60)
    with Spool(directory, max_bytes=1 << 30) as fresh:
        assert len(fresh.sealed_segments()) == 1  # what was active is sealed now
        values = [r.value for r in replay(fresh)]
    assert values == [b"%d-%d" % (i, j) for i in range(5) for j in range(4)]


def test_reopened_spool_continues_after_the_old_segments(tmp_path: Path) -> None:
    directory = tmp_path / "spool"
    with Spool(directory, max_bytes=MiB) as first:
        first.append(batch(0, 5))
    (directory / "spool-000000000007.log").touch()  # empty: died before writing; removed
    with Spool(directory, max_bytes=MiB) as second:
        assert [p.name for p in second.sealed_segments()] == ["spool-000000000001.log"]
        assert second.size_bytes == (directory / "spool-000000000001.log").stat().st_size
        second.append(batch(5, 5))
        newest = second.seal()
        assert newest is not None
        assert newest.name == "spool-000000000008.log"
        assert replay(second) == batch(0, 10)
    assert not (directory / "spool-000000000007.log").exists()


def test_second_spool_on_the_same_folder_is_refused(spool: Spool) -> None:
    with pytest.raises(SpoolError, match="in use"):
        Spool(spool.directory, max_bytes=MiB)


def test_full_spool_refuses_the_whole_batch(tmp_path: Path) -> None:
    one = len(encode_record(record(0)))
    with Spool(tmp_path, max_bytes=one * 10, segment_bytes=one * 4) as spool:
        spool.append([record(0)] * 6)
        with pytest.raises(SpoolFullError) as err:
            spool.append([record(0)] * 5)
        assert err.value.max_bytes == one * 10
        assert err.value.size_bytes == one * 6
        assert spool.size_bytes == one * 6  # nothing of the refused batch was written
        assert spool.stats.rejected_batches == 1
        spool.append([record(0)] * 4)  # exactly full is fine
        assert spool.size_bytes == one * 10
        with pytest.raises(SpoolFullError):
            spool.append([record(0)])
        spool.seal()
        for path in spool.sealed_segments():
            spool.read_segment(path)
            spool.delete_segment(path)
        assert spool.size_bytes == 0
        spool.append([record(0)] * 10)  # room again after replay


def test_segments_roll_over_and_keep_order(tmp_path: Path) -> None:
    with Spool(tmp_path, max_bytes=64 * MiB, segment_bytes=2_000) as spool:
        for start in range(0, 200, 10):
            spool.append(batch(start, 10))
        spool.seal()
        segments = spool.sealed_segments()
        assert len(segments) > 3
        assert segments == sorted(segments)
        assert all(p.stat().st_size <= 2_000 for p in segments[:-1])
        assert replay(spool) == batch(0, 200)
        assert spool.segment_count == len(segments)
        assert spool.size_bytes == sum(p.stat().st_size for p in segments)


def test_a_batch_larger_than_a_segment_is_not_split(tmp_path: Path) -> None:
    with Spool(tmp_path, max_bytes=64 * MiB, segment_bytes=500) as spool:
        spool.append(batch(0, 2))
        spool.append(batch(2, 50))
        spool.seal()
        first, second = spool.sealed_segments()
        assert spool.read_segment(first) == batch(0, 2)
        assert spool.read_segment(second) == batch(2, 50)


def test_delete_after_replay(spool: Spool) -> None:
    spool.append(batch(0, 5))
    spool.seal()
    spool.append(batch(5, 5))
    (oldest, *_) = spool.sealed_segments()
    assert spool.read_segment(oldest) == batch(0, 5)
    spool.delete_segment(oldest)
    assert not oldest.exists()
    assert spool.sealed_segments() == []
    assert spool.pending()  # the active segment still holds records
    newest = spool.seal()
    assert newest is not None
    assert spool.read_segment(newest) == batch(5, 5)
    spool.delete_segment(newest)
    assert not spool.pending()
    assert spool.size_bytes == 0
    assert spool.stats.deleted_segments == 2


def test_the_active_segment_cannot_be_read_or_deleted(spool: Spool) -> None:
    spool.append(batch(0, 1))
    active = spool.directory / "spool-000000000001.log"
    with pytest.raises(SpoolError, match="active"):
        spool.read_segment(active)
    with pytest.raises(SpoolError, match="active"):
        spool.delete_segment(active)
    with pytest.raises(SpoolError, match="not a spool segment"):
        spool.read_segment(spool.directory / ".lock")


def _sealed_file(tmp_path: Path, records: list[SpoolRecord]) -> Path:
    with Spool(tmp_path / "spool", max_bytes=64 * MiB) as spool:
        spool.append(records)
        path = spool.seal()
    assert path is not None
    return path


def _reread(path: Path) -> tuple[list[SpoolRecord], Spool]:
    spool = Spool(path.parent, max_bytes=64 * MiB)
    return spool.read_segment(path), spool


@pytest.mark.parametrize("cut", [1, 5, 12, 20])
def test_torn_last_record_is_skipped_and_counted(tmp_path: Path, cut: int) -> None:
    path = _sealed_file(tmp_path, batch(0, 10))
    os.truncate(path, path.stat().st_size - cut)  # crash in the middle of the last write
    records, spool = _reread(path)
    with spool:
        assert records == batch(0, 9)
        assert spool.stats.torn_records == 1
        assert spool.stats.corrupt_records == 0


def test_flipped_byte_in_the_last_record(tmp_path: Path) -> None:
    path = _sealed_file(tmp_path, batch(0, 10))
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x40
    path.write_bytes(bytes(data))
    records, spool = _reread(path)
    with spool:
        assert records == batch(0, 9)
        assert spool.stats.torn_records == 1


def test_zeroed_tail_after_a_crash(tmp_path: Path) -> None:
    path = _sealed_file(tmp_path, batch(0, 4))
    with path.open("ab") as handle:
        handle.write(b"\x00" * 4096)  # file length grew, data never reached the disk
    records, spool = _reread(path)
    with spool:
        assert records == batch(0, 4)
        assert spool.stats.torn_records == 1


@pytest.mark.parametrize("where", ["payload", "length", "magic"])
def test_corrupt_record_in_the_middle_is_skipped_the_rest_kept(tmp_path: Path, where: str) -> None:
    records = batch(0, 10)
    path = _sealed_file(tmp_path, records)
    offset = sum(len(encode_record(r)) for r in records[:4])  # start of record 4
    data = bytearray(path.read_bytes())
    position = {"magic": offset, "length": offset + 5, "payload": offset + 20}[where]
    data[position] ^= 0x10
    path.write_bytes(bytes(data))
    got, spool = _reread(path)
    with spool:
        assert got == records[:4] + records[5:]
        assert spool.stats.corrupt_records == 1
        assert spool.stats.torn_records == 0


def test_garbage_segment_yields_nothing(tmp_path: Path) -> None:
    directory = tmp_path / "spool"
    directory.mkdir()
    (directory / "spool-000000000001.log").write_bytes(b"garbage" * 100 + MAGIC + b"\x01")
    with Spool(directory, max_bytes=MiB) as spool:
        (path,) = spool.sealed_segments()
        assert spool.read_segment(path) == []
        assert spool.stats.torn_records == 1


def test_threads_appending_concurrently(tmp_path: Path) -> None:
    threads, batches, size = 8, 40, 3
    with Spool(tmp_path, max_bytes=64 * MiB, segment_bytes=8_000) as spool:

        def worker(t: int) -> None:
            for b in range(batches):
                spool.append(
                    [SpoolRecord(f"t{t}", None, b"%d:%d:%d" % (t, b, i), []) for i in range(size)]
                )

        workers = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()
        spool.seal()
        got = replay(spool)
        assert spool.stats.fsyncs <= threads * batches + len(spool.sealed_segments())
    assert len(got) == threads * batches * size
    for t in range(threads):
        mine = [r.value for r in got if r.topic == f"t{t}"]
        # each thread's records in order, and each batch contiguous in the file
        assert mine == [b"%d:%d:%d" % (t, b, i) for b in range(batches) for i in range(size)]
    for index in range(0, len(got), size):
        assert len({r.value.rsplit(b":", 1)[0] for r in got[index : index + size]}) == 1


def test_closed_spool_refuses_appends(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=MiB)
    spool.append(batch(0, 2))
    spool.close()
    spool.close()  # idempotent
    with pytest.raises(SpoolError, match="closed"):
        spool.append(batch(2, 2))
    with Spool(tmp_path, max_bytes=MiB) as again:  # the folder lock was released
        assert replay(again) == batch(0, 2)


def test_empty_append_is_a_no_op(spool: Spool) -> None:
    spool.append([])
    assert spool.segment_count == 0
    assert not spool.pending()
    assert spool.stats.as_dict()["appended_batches"] == 0
