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


@functools.lru_cache(maxsize=8192)
def _second(seconds: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds))


_MILLIS = tuple(f".{m:03d}+00" for m in range(1000))


def timestamp(value: Any) -> str:
    """A ``timestamptz`` field from integer milliseconds since the epoch (UTC)."""
    if type(value) is not int:
        return text(value)
    seconds, millis = divmod(value, 1000)
    return f"{_second(seconds)}.{millis:03d}+00"


# Per column type, an expression of ``v`` (not None) giving its COPY text: the common case
# inline (a printable string, an integer time as ``timestamp`` writes it), the rest through
# the functions above. A bigint is written as it is: PostgreSQL rejects what is not one.
_INLINE: dict[str, str] = {
    "text": "v if type(v) is str and '\\\\' not in v and v.isprintable() else text(v)",
    "bigint": "str(v)",
    "boolean": "'t' if v is True else 'f' if v is False else text(v)",
    "timestamptz": "second(v // 1000) + MILLIS[v % 1000] if type(v) is int else text(v)",
    "jsonb": "json_text(v)",
}


def _compile(columns: tuple[Column, ...]) -> Callable[[dict[str, Any]], list[str]]:
    """A function from a record to its column texts, generated for ``columns``: a straight
    run of dictionary lookups costs half of a loop dispatching on each field's type."""
    body = ["def fields(data):", "    get = data.get", "    return ["]
    for column in columns:
        body.append(
            f"        NULL if (v := get({column.name!r})) is None else {_INLINE[column.sql_type]},"
        )
    body.append("    ]")
    scope: dict[str, Any] = {
        "NULL": NULL,
        "text": text,
        "json_text": json_text,
        "second": _second,
        "MILLIS": _MILLIS,
    }
    exec("\n".join(body), scope)  # our own source, built from the column types
    return scope["fields"]  # type: ignore[no-any-return]


class LineEncoder:
    """Encodes records as COPY text lines for a table of ``columns``."""

    def __init__(self, columns: tuple[Column, ...]) -> None:
        self.known = frozenset(c.name for c in columns)
        self.fields = _compile(columns)

    def line(self, record: Record) -> str:
        """One line: every column NULL but those the record has, then extra and origin."""
        data = record.data
        out = self.fields(data)
        unknown = data.keys() - self.known
        extra = {k: v for k, v in data.items() if k in unknown} if unknown else None
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
