"""The keys of non-event records: metric windows and views.

Window records (``playpipe.streams.records.WindowResult``) carry ``window``, ``size_ms``,
``window_start_ms``, ``window_end_ms``, ``dimensions`` and ``revision``; view records carry
``view_id``, ``start_ms`` and ``end_ms``. The older spellings ``window_start`` and
``window_size_ms`` are accepted too. A later revision of a window replaces the earlier one.
"""

from __future__ import annotations

from typing import Any

WINDOW_START = ("window_start_ms", "window_start")
WINDOW_SIZE = ("size_ms", "window_size_ms")
WINDOW_FIELDS = frozenset(
    {
        "window",
        "window_start_ms",
        "window_end_ms",
        "size_ms",
        "window_start",
        "window_size_ms",
        "dimensions",
        "revision",
        "timestamp",
    }
)
"""Fields of a window record that describe the window rather than measure it."""


def first_int(data: dict[str, Any], names: tuple[str, ...]) -> int | None:
    """The first of ``names`` holding an integer."""
    for name in names:
        value = data.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def window_key(data: dict[str, Any]) -> tuple[int | None, int | None, dict[str, Any]]:
    """(start ms, size ms, dimensions) of a window record."""
    dims = data.get("dimensions")
    return (
        first_int(data, WINDOW_START),
        first_int(data, WINDOW_SIZE),
        dims if isinstance(dims, dict) else {},
    )


def json_coalesce(names: tuple[str, ...]) -> str:
    """SQL picking the first present of ``names`` from the staged JSON ``d`` as text."""
    return "COALESCE(" + ", ".join(f"d->>'{n}'" for n in names) + ")"
