"""Example events built from the ``examples`` declared on each field.

The examples in the field metadata are the single source: the generated docs show them, the
tests round-trip them, and a field without a usable example fails the tests.
"""

from __future__ import annotations

import functools
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
    if event_type not in _CLASSES:
        raise ValueError(f"unknown event_type {event_type!r}")
    return convert_event(msgspec.json.decode(_example_json(event_type, full)))


@functools.cache
def _example_json(event_type: str, full: bool) -> bytes:
    # Inspecting a struct is slow; cache the example as JSON so each call returns a new object.
    info = inspect.type_info(_CLASSES[event_type])
    assert isinstance(info, inspect.StructType)
    obj = _example_object(info, full=full)
    return msgspec.json.encode({"event_type": event_type, **obj})


def field_example(field: inspect.Field, *, full: bool = True) -> Any:
    """Return the first declared example of a field, or an example object for a node field.

    For a node, ``full`` selects every field of the node or only its required fields.
    """
    value = _example_value(field.type, full=full)
    if value is msgspec.UNSET:
        raise LookupError(f"field {field.name!r} declares no example")
    return value


def _example_object(info: inspect.StructType, *, full: bool) -> dict[str, Any]:
    return {
        field.encode_name: field_example(field, full=full)
        for field in info.fields
        if field.name != "schema_version" and (full or field.required)
    }


def _example_value(tp: inspect.Type, *, full: bool) -> Any:
    """First declared example found while unwrapping ``tp``, or ``UNSET``."""
    if isinstance(tp, inspect.Metadata):
        examples = (tp.extra_json_schema or {}).get("examples")
        if examples:
            return examples[0]
        return _example_value(tp.type, full=full)
    if isinstance(tp, inspect.UnionType):
        values = (_example_value(member, full=full) for member in tp.types)
        return next((v for v in values if v is not msgspec.UNSET), msgspec.UNSET)
    if isinstance(tp, inspect.StructType):
        return _example_object(tp, full=full)
    return msgspec.UNSET
