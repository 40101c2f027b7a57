"""Cleaning of third-party values into what the dictionary accepts, shared by mappings.

Each helper returns ``None`` for a value it cannot use, so a mapping drops a bad field
instead of rejecting a whole event; :func:`convert` is the one place a mapped event is
validated, and names the field when it is not valid.
"""

from __future__ import annotations

from typing import Any, Final

from playpipe.dictionary import Event, ValidationError, convert_event, error_field, error_reason
from playpipe.sources.registry import MappingError

MAX_TEXT: Final = 256
DEVICE_TYPES: Final = frozenset({"desktop", "mobile", "tablet", "tv", "console", "other"})
"""The dictionary's device classes (``device.type``)."""


def convert(data: dict[str, Any], where: str) -> Event:
    try:
        return convert_event(data)
    except ValidationError as exc:
        raise MappingError(
            f"mapped event is not valid: {error_reason(exc)}", f"{where}->{error_field(exc)}"
        ) from None


def prune(values: dict[str, Any]) -> dict[str, Any] | None:
    kept = {k: v for k, v in values.items() if v is not None and v != ""}
    return kept or None


def as_text(value: object, limit: int = MAX_TEXT) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        value = str(value)
    return value[:limit] if isinstance(value, str) and value else None


def as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, (int, float)) and 0 <= value < 2**53:
        return int(value)
    return None


def as_px(value: object) -> int | None:
    number = as_int(value)
    return number if number is not None and number <= 100_000 else None


def as_kbps(value: object) -> float | None:
    bits = as_int(value)
    return bits / 1000 if bits else None


def as_bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if value in ("true", "1", 1):
        return True
    if value in ("false", "0", 0):
        return False
    return None


def as_device_type(value: object) -> str | None:
    return value if isinstance(value, str) and value in DEVICE_TYPES else None


def as_scalar(value: object) -> str | int | float | bool | None:
    if isinstance(value, (bool, int, float)):
        return value
    return as_text(value)
