"""The collector's durable local spool: Kafka messages kept on disk until Kafka has them.

The collector answers 202 only when Kafka acknowledged a batch or the batch is fsynced here.

On disk, a folder of append-only segment files ``spool-<seq>.log`` (``seq`` zero-padded, so
names sort in age order). A segment is a run of records::

    magic "PPS1" | length u32 LE | crc32 u32 LE of (length bytes + payload) | payload

and a payload is one message to produce later, :class:`SpoolRecord` as msgpack.

- :meth:`Spool.append` writes a whole batch with one ``write`` and fsyncs it before it returns
  (or leaves that to one :meth:`Spool.sync` for several batches). Concurrent appenders share
  fsyncs: whoever syncs covers everything written before it.
- One segment is *active* (being appended); the others are *sealed*. Only sealed segments are
  replayed: :meth:`Spool.sealed_segments` (oldest first), :meth:`Spool.read_segment`, produce,
  wait for every acknowledgement, then :meth:`Spool.delete_segment`. :meth:`Spool.seal` closes
  the active segment so that it can be replayed too.
- Reading validates every record. A bad region at the end of a segment (a write torn by a
  crash) is skipped and counted as ``torn_records``; a bad region followed by good records is
  skipped up to the next record that checks out and counted as ``corrupt_records``. Both log.
- After a crash (even ``kill -9``), a new :class:`Spool` on the folder finds every fsynced record:
  all existing segments become sealed segments. A lock file keeps a second process out.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import struct
import threading
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

import msgspec

from playpipe.errors import PlaypipeError
from playpipe.log import get_logger

__all__ = [
    "DEFAULT_SEGMENT_BYTES",
    "Spool",
    "SpoolError",
    "SpoolFullError",
    "SpoolRecord",
    "SpoolStats",
    "encode_record",
]

log = get_logger("collector")

DEFAULT_SEGMENT_BYTES: Final = 16 * 1024 * 1024
MAGIC: Final = b"PPS1"
_HEADER = struct.Struct("<4sII")
_LENGTH = struct.Struct("<I")
_NAME = re.compile(r"^spool-(\d+)\.log$")
_LOCK_FILE = ".lock"
_fdatasync = getattr(os, "fdatasync", os.fsync)


class SpoolError(PlaypipeError):
    """The spool cannot be used (folder in use, closed, active segment read)."""


class SpoolFullError(SpoolError):
    """Appending would make the spool larger than ``max_bytes``; nothing was written."""

    def __init__(self, message: str, size_bytes: int, max_bytes: int) -> None:
        super().__init__(message)
        self.size_bytes = size_bytes
        self.max_bytes = max_bytes


class SpoolRecord(msgspec.Struct, array_like=True):
    """One Kafka message to produce later."""

    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]] = []


@dataclass
class SpoolStats:
    """Counters since the spool was opened (for ``/metrics``)."""

    appended_batches: int = 0
    appended_records: int = 0
    appended_bytes: int = 0
    rejected_batches: int = 0
    fsyncs: int = 0
    sealed_segments: int = 0
    deleted_segments: int = 0
    read_records: int = 0
    torn_records: int = 0
    corrupt_records: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(SpoolRecord)


def encode_record(record: SpoolRecord) -> bytes:
    """One framed record: header and payload."""
    payload = _encoder.encode(record)
    length = len(payload)
    crc = zlib.crc32(payload, zlib.crc32(_LENGTH.pack(length)))
    return _HEADER.pack(MAGIC, length, crc) + payload


def _record_at(data: memoryview, pos: int) -> tuple[SpoolRecord, int] | None:
    """The record starting at ``pos`` and the offset after it, or None if it does not check out."""
    end = pos + _HEADER.size
    if end > len(data):
        return None
    magic, length, crc = _HEADER.unpack_from(data, pos)
    if magic != MAGIC or end + length > len(data):
        return None
    payload = data[end : end + length]
    if zlib.crc32(payload, zlib.crc32(_LENGTH.pack(length))) != crc:
        return None
    try:
        return _decoder.decode(payload), end + length
    except msgspec.DecodeError:
        return None


@dataclass
class _Scan:
    records: list[SpoolRecord]
    torn: int = 0
    corrupt: int = 0


def _scan_segment(data: bytes, name: str) -> _Scan:
    """Every valid record of a segment's bytes, in order; bad regions are skipped and logged."""
    scan = _Scan([])
    view = memoryview(data)
    pos, bad_from = 0, -1
    while pos < len(data):
        found = _record_at(view, pos)
        if found is None:
            bad_from = pos if bad_from < 0 else bad_from
            nxt = data.find(MAGIC, pos + 1)
            pos = len(data) if nxt < 0 else nxt
            continue
        if bad_from >= 0:
            scan.corrupt += 1
            log.warning("spool.corrupt_record", segment=name, offset=bad_from, bytes=pos - bad_from)
            bad_from = -1
        scan.records.append(found[0])
        pos = found[1]
    if bad_from >= 0:
        scan.torn += 1
        log.warning("spool.torn_record", segment=name, offset=bad_from, bytes=pos - bad_from)
    return scan


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class _Segment:
    seq: int
    path: Path
    fd: int
    size: int = 0


class Spool:
    """A durable, size-capped, append-only spool of Kafka messages in ``directory``.

    Safe to share between threads. ``max_bytes`` caps the files on disk (headers included);
    ``segment_bytes`` is the size after which the active segment is sealed and a new one begun
    (a batch is never split, so one larger batch makes one larger segment).
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        max_bytes: int,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
    ) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self.stats = SpoolStats()
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._active: _Segment | None = None
        self._durable = (-1, 0)  # (segment seq, offset) known to be on disk
        self._closed = False
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock_fd = self._lock_directory()
        self._sealed: dict[str, int] = {}  # file name -> bytes, oldest first
        self._next_seq = 1
        self._size = 0
        self._discover()

    # --- opening ------------------------------------------------------------------------------

    def _lock_directory(self) -> int:
        fd = os.open(self.directory / _LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise SpoolError(
                f"The spool folder {self.directory} is in use by another collector. Give each "
                "collector process its own spool folder."
            ) from None
        return fd

    def _discover(self) -> None:
        found: list[tuple[int, Path]] = []
        for path in self.directory.iterdir():
            match = _NAME.match(path.name)
            if match:
                found.append((int(match.group(1)), path))
        found.sort()
        for seq, path in found:
            self._next_seq = max(self._next_seq, seq + 1)
            size = path.stat().st_size
            if size == 0:  # created, then the process died before writing
                path.unlink()
                continue
            self._sealed[path.name] = size
            self._size += size
        if self._sealed:
            log.info("spool.opened", segments=len(self._sealed), bytes=self._size)

    # --- state --------------------------------------------------------------------------------

    @property
    def size_bytes(self) -> int:
        """Bytes on disk in every segment, the active one included."""
        return self._size

    @property
    def segment_count(self) -> int:
        """Sealed segments plus the active one, if any."""
        with self._lock:
            return len(self._sealed) + (self._active is not None)

    def active_has_data(self) -> bool:
        """Whether the active segment holds records (:meth:`seal` it to replay them)."""
        active = self._active
        return active is not None and active.size > 0

    def pending(self) -> bool:
        """Whether the spool holds anything that still has to go to Kafka."""
        return bool(self._sealed) or self.active_has_data()

    def sealed_segments(self) -> list[Path]:
        """Segments ready for replay, oldest first."""
        with self._lock:
            return [self.directory / name for name in self._sealed]

    def iter_segments(self) -> Iterator[Path]:
        """Iterate over :meth:`sealed_segments` (a snapshot), oldest first."""
        return iter(self.sealed_segments())

    # --- writing ------------------------------------------------------------------------------

    def append(self, records: Sequence[SpoolRecord], sync: bool = True) -> None:
        """Write a batch; with ``sync`` (the default) it is on disk when this returns.

        With ``sync=False`` call :meth:`sync` before acknowledging anything. Raises
        :class:`SpoolFullError` (nothing written) when the batch does not fit in ``max_bytes``,
        ``OSError`` when the disk refused the write (nothing of the batch is kept).
        """
        if not records:
            return
        data = b"".join([encode_record(record) for record in records])
        with self._lock:
            if self._closed:
                raise SpoolError(f"The spool {self.directory} is closed.")
            if self._size + len(data) > self.max_bytes:
                self.stats.rejected_batches += 1
                raise SpoolFullError(
                    f"The spool {self.directory} is full: {self._size} of {self.max_bytes} bytes "
                    f"used, {len(data)} more needed.",
                    self._size,
                    self.max_bytes,
                )
            segment = self._writable(len(data))
            self._write(segment, data)
            segment.size += len(data)
            self._size += len(data)
            self.stats.appended_batches += 1
            self.stats.appended_records += len(records)
            self.stats.appended_bytes += len(data)
            ticket = (segment.seq, segment.size)
        if sync:
            self._sync_to(ticket)

    def sync(self) -> None:
        """Make everything appended so far durable (one fsync)."""
        with self._lock:
            active = self._active
            ticket = (active.seq, active.size) if active is not None else None
        if ticket is not None:
            self._sync_to(ticket)

    def _writable(self, size: int) -> _Segment:
        active = self._active
        if active is not None and active.size > 0 and active.size + size > self.segment_bytes:
            self._seal_locked()
            active = None
        if active is None:
            seq = self._next_seq
            path = self.directory / f"spool-{seq:012d}.log"
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC
            active = self._active = _Segment(seq, path, os.open(path, flags, 0o644))
            self._next_seq += 1
            _fsync_dir(self.directory)
        return active

    @staticmethod
    def _write(segment: _Segment, data: bytes) -> None:
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(segment.fd, view) :]
        except OSError:
            # Leave no partial batch behind; if even that fails, readers skip the torn tail.
            with contextlib.suppress(OSError):
                os.ftruncate(segment.fd, segment.size)
            raise

    def _sync_to(self, ticket: tuple[int, int]) -> None:
        with self._sync_lock:
            if self._durable >= ticket:  # another thread's fsync covered it
                return
            with self._lock:
                active = self._active
                if active is None or active.seq != ticket[0]:
                    return  # sealed meanwhile, and sealing fsyncs
                fd, target = os.dup(active.fd), (active.seq, active.size)
            try:
                _fdatasync(fd)
            finally:
                os.close(fd)
            self._durable = max(self._durable, target)
            with self._lock:
                self.stats.fsyncs += 1

    def seal(self) -> Path | None:
        """Close the active segment so it can be replayed; its path, or None if there was none."""
        with self._lock:
            return self._seal_locked()

    def _seal_locked(self) -> Path | None:
        active = self._active
        if active is None:
            return None
        if active.size > 0:
            _fdatasync(active.fd)
            self.stats.fsyncs += 1
        os.close(active.fd)
        self._active = None
        if active.size == 0:
            active.path.unlink(missing_ok=True)
            return None
        self._durable = max(self._durable, (active.seq, active.size))
        self._sealed[active.path.name] = active.size
        self.stats.sealed_segments += 1
        return active.path

    # --- replay -------------------------------------------------------------------------------

    def _segment_path(self, path: str | os.PathLike[str]) -> Path:
        name = Path(path).name
        if not _NAME.match(name):
            raise SpoolError(f"{name} is not a spool segment (spool-<seq>.log).")
        active = self._active
        if active is not None and active.path.name == name:
            raise SpoolError(f"{name} is the active spool segment; seal() it first.")
        return self.directory / name

    def read_segment(self, path: str | os.PathLike[str]) -> list[SpoolRecord]:
        """Every valid record of a sealed segment, in order (see the module doc for bad ones)."""
        path = self._segment_path(path)
        scan = _scan_segment(path.read_bytes(), path.name)
        with self._lock:
            self.stats.read_records += len(scan.records)
            self.stats.torn_records += scan.torn
            self.stats.corrupt_records += scan.corrupt
        return scan.records

    def delete_segment(self, path: str | os.PathLike[str]) -> None:
        """Remove a sealed segment once Kafka acknowledged all of its records."""
        path = self._segment_path(path)
        with self._lock:
            path.unlink(missing_ok=True)
            self._size -= self._sealed.pop(path.name, 0)
            self.stats.deleted_segments += 1
        _fsync_dir(self.directory)

    # --- closing ------------------------------------------------------------------------------

    def close(self) -> None:
        """Seal the active segment (fsync) and release the folder. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._seal_locked()
            self._closed = True
            os.close(self._lock_fd)

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
