"""The ``file`` connector: NDJSON appended to a file, or written to stdout (``path = "-"``).

Meant for debugging and for piping records to other tools. ``flush`` fsyncs a file, so a
committed batch is on disk; after a crash the last batch may appear twice.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import BinaryIO

import orjson

from playpipe.connectors.base import Connector, HealthcheckError, Record, WriteResult
from playpipe.connectors.settings import FileSettings
from playpipe.errors import TransientError


class FileConnector(Connector[FileSettings]):
    """One JSON object per line, in delivery order."""

    settings_class = FileSettings

    def setup(self) -> None:
        self.handle: BinaryIO | None = None
        if self.settings.path == "-":
            return
        path = Path(self.settings.path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.handle = path.open("ab")
            self.regular = stat.S_ISREG(os.fstat(self.handle.fileno()).st_mode)
        except OSError as exc:
            raise HealthcheckError(
                "path",
                f"cannot open {path} for appending ({exc.strerror})",
                'Point `path` at a writable file, or use "-" for stdout.',
            ) from None

    def _out(self) -> BinaryIO:
        return self.handle if self.handle is not None else sys.stdout.buffer

    def write(self, batch: list[Record]) -> WriteResult | None:
        body = b"".join(orjson.dumps(r.data) + b"\n" for r in batch)
        try:
            self._out().write(body)
        except OSError as exc:
            raise TransientError(f"cannot write {self.settings.path}: {exc}") from None
        return None

    def flush(self) -> None:
        out = self._out()
        try:
            out.flush()
            if self.handle is not None and self.regular:
                os.fsync(self.handle.fileno())
        except OSError as exc:
            raise TransientError(f"cannot flush {self.settings.path}: {exc}") from None

    def healthcheck(self) -> None:
        if self.handle is not None and self.handle.closed:
            raise HealthcheckError("path", f"{self.settings.path} is closed", "Restart it.")

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
