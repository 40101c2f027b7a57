"""COPY text lines of typed event rows, built in Python so PostgreSQL only stores them.

One line per record, in the column order of :func:`copy_columns`: the event columns (text,
bigint, boolean, ``timestamptz`` from integer milliseconds, ``jsonb``), ``extra`` (the fields
without a column of their own, as JSON), then the record's origin (topic, partition, offset).
A record that cannot be encoded (a time outside the calendar, say) is returned as failed
instead of failing the batch; a value of the wrong type is left for PostgreSQL to reject.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

import orjson

from playpipe.connectors.base import Record
from playpipe.connectors.pg_schema import Column
from playpipe.errors import TerminalError

NULL = "\\N"
_SPECIAL = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_columns(columns: tuple[Column, ...]) -> str:
    """The column list of the COPY: event columns, ``extra``, origin."""
    names = ", ".join(f'"{c.name}"' for c in columns)
    return f"{names}, extra, _topic, _partition, _offset"


def text(value: Any) -> str:
    """A text field: backslash, tab, newline and carriage return escaped."""
    out: str = value if type(value) is str else orjson.dumps(value).decode()
    if "\\" in out or not out.isprintable():
        return out.translate(_SPECIAL)
    return out


def json_text(value: Any) -> str:
    """A jsonb field: JSON never holds a raw tab or newline, its backslashes are doubled."""
    out = orjson.dumps(value).decode()
    return out.replace("\\", "\\\\") if "\\" in out else out


def plain(value: Any) -> str:
    """A bigint field (PostgreSQL rejects what is not an integer)."""
    return str(value)


def boolean(value: Any) -> str:
    if value is True:
        return "t"
    if value is False:
        return "f"
    return text(value)


@functools.lru_cache(maxsize=8192)
def _second(seconds: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds))


def timestamp(value: Any) -> str:
    """A ``timestamptz`` field from integer milliseconds since the epoch (UTC)."""
    if type(value) is not int:
        return text(value)
    seconds, millis = divmod(value, 1000)
    return f"{_second(seconds)}.{millis:03d}+00"


_ENCODERS: dict[str, Callable[[Any], str]] = {
    "text": text,
    "bigint": plain,
    "boolean": boolean,
    "timestamptz": timestamp,
    "jsonb": json_text,
}


class LineEncoder:
    """Encodes records as COPY text lines for a table of ``columns``."""

    def __init__(self, columns: tuple[Column, ...]) -> None:
        self.slots = {c.name: (i, _ENCODERS[c.sql_type]) for i, c in enumerate(columns)}
        self.width = len(columns)

    def line(self, record: Record) -> str:
        """One line: every column NULL but those the record has (one pass over the record)."""
        out = [NULL] * self.width
        slots = self.slots
        extra: dict[str, Any] | None = None
        for name, value in record.data.items():
            slot = slots.get(name)
            if slot is None:
                if extra is None:
                    extra = {}
                extra[name] = value
            elif value is not None:
                out[slot[0]] = slot[1](value)
        topic, partition, offset = record.origin
        out += (
            NULL if extra is None else json_text(extra),
            text(topic),
            str(partition),
            str(offset),
        )
        return "\t".join(out)

    def encode(
        self, records: list[Record]
    ) -> tuple[bytes, list[Record], list[tuple[Record, TerminalError]]]:
        """(the COPY body, the records in it, the records that could not be encoded)."""
        lines: list[str] = []
        kept: list[Record] = []
        failed: list[tuple[Record, TerminalError]] = []
        for record in records:
            try:
                lines.append(self.line(record))
            except (ValueError, OverflowError, OSError, TypeError, orjson.JSONEncodeError) as exc:
                failed.append((record, TerminalError(f"cannot be written to PostgreSQL: {exc}")))
                continue
            kept.append(record)
        lines.append("")
        return "\n".join(lines).encode(), kept, failed
