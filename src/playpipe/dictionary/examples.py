"""Example events built from the ``examples`` declared on each field.

The examples in the field metadata are the single source: the generated docs show them, the
tests round-trip them, and a field without a usable example fails the tests.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import inspect

from playpipe.dictionary.codec import convert_event
from playpipe.dictionary.events import EVENT_CLASSES, Event

__all__ = ["example_event"]

_CLASSES = {str(cls.__struct_config__.tag): cls for cls in EVENT_CLASSES}


def example_event(event_type: str, *, full: bool = False) -> Event:
    """Return a valid example event of the given type.

    With ``full=False`` only required fields are set; with ``full=True`` every field and
    node of the event is set from the field examples.
    """
    cls = _CLASSES.get(event_type)
    if cls is None:
        raise ValueError(f"unknown event_type {event_type!r}")
    info = inspect.type_info(cls)
    assert isinstance(info, inspect.StructType)
    obj = _example_object(info, full=full)
    return convert_event({"event_type": event_type, **obj})


def field_example(field: inspect.Field) -> Any:
    """Return the first declared example of a field, or a nested example for a node field."""
    value = _example_value(field.type, full=True)
    if value is msgspec.UNSET:
        raise LookupError(f"field {field.name!r} declares no example")
    return value


def _example_object(info: inspect.StructType, *, full: bool) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for field in info.fields:
        if field.name == "schema_version" or not (full or field.required):
            continue
        obj[field.encode_name] = field_example(field) if full else _required(field)
    return obj


def _required(field: inspect.Field) -> Any:
    value = _example_value(field.type, full=False)
    if value is msgspec.UNSET:
        raise LookupError(f"field {field.name!r} declares no example")
    return value


def _example_value(tp: inspect.Type, *, full: bool) -> Any:
    """First declared example found while unwrapping ``tp``, or ``UNSET``."""
    if isinstance(tp, inspect.Metadata):
        examples = (tp.extra_json_schema or {}).get("examples")
        if examples:
            return examples[0]
        return _example_value(tp.type, full=full)
    if isinstance(tp, inspect.UnionType):
        for member in tp.types:
            value = _example_value(member, full=full)
            if value is not msgspec.UNSET:
                return value
        return msgspec.UNSET
    if isinstance(tp, inspect.StructType):
        return _example_object(tp, full=full)
    return msgspec.UNSET
