"""Where Parquet files go: a local folder, or any fsspec filesystem (S3, GCS, memory…).

``publish`` writes a file under a temporary name, renames it into place and removes older
files of the same ``<topic>-<partition>-<first>-`` prefix in that folder (files a crashed
run wrote for the same batch with another last offset).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any, Protocol


class Store(Protocol):
    """A place to publish files atomically."""

    def publish(
        self, folder: str, name: str, data: bytes, replaces: str, sync: bool = True
    ) -> None:
        """Write ``data`` as ``folder/name``; drop other ``replaces*`` files of the folder.
        With ``sync=False`` the folder itself is made durable only by ``sync_folder``."""
        ...

    def sync_folder(self, folder: str) -> None:
        """Make the files published in ``folder`` durable (renames included)."""
        ...

    def probe(self, name: str) -> None:
        """Write and delete a small file; raise ``OSError`` if either fails."""
        ...


class LocalStore:
    """A local folder; files are fsynced before the rename and the folder after it."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def publish(
        self, folder: str, name: str, data: bytes, replaces: str, sync: bool = True
    ) -> None:
        target_dir = self.root / folder
        target_dir.mkdir(parents=True, exist_ok=True)
        temp = target_dir / f".{name}.{uuid.uuid4().hex}.tmp"
        with temp.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target_dir / name)
        for old in target_dir.glob(f"{replaces}*.parquet"):
            if old.name != name:
                old.unlink(missing_ok=True)
        if sync:
            self.sync_folder(folder)

    def sync_folder(self, folder: str) -> None:
        # One fsync of the folder covers every rename in it (3 ms each here): a batch's
        # files of one folder pay it once.
        descriptor = os.open(self.root / folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def probe(self, name: str) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / name
        path.write_bytes(b"probe")
        path.unlink()


class FsspecStore:
    """Any fsspec filesystem; on object stores the final object appears in one step."""

    def __init__(self, fs: Any, root: str) -> None:
        self.fs = fs
        self.root = root.rstrip("/")

    def publish(
        self, folder: str, name: str, data: bytes, replaces: str, sync: bool = True
    ) -> None:
        target_dir = f"{self.root}/{folder}"
        temp = f"{target_dir}/.{name}.{uuid.uuid4().hex}.tmp"
        final = f"{target_dir}/{name}"
        self.fs.makedirs(target_dir, exist_ok=True)
        with self.fs.open(temp, "wb") as handle:
            handle.write(data)
        self.fs.mv(temp, final)
        for old in self.fs.glob(f"{target_dir}/{replaces}*.parquet"):
            if not str(old).endswith("/" + name):
                self.fs.rm(old)

    def sync_folder(self, folder: str) -> None:
        """Object stores have nothing to sync: an object is there once written."""

    def probe(self, name: str) -> None:
        path = f"{self.root}/{name}"
        self.fs.makedirs(self.root, exist_ok=True)
        with self.fs.open(path, "wb") as handle:
            handle.write(b"probe")
        self.fs.rm(path)


def fsspec_store(url: str, options: dict[str, str]) -> FsspecStore:
    """A store for a URL such as ``s3://bucket/prefix`` (imports fsspec now)."""
    import fsspec  # type: ignore[import-untyped]

    fs, root = fsspec.core.url_to_fs(url, **options)
    return FsspecStore(fs, root)
