"""Turn msgspec type information of one struct field into the cells of a docs table row."""

from __future__ import annotations

import dataclasses
from typing import Any

import msgspec
from msgspec import inspect

__all__ = ["FieldDoc", "describe"]

_SCALARS: dict[type[inspect.Type], str] = {
    inspect.IntType: "integer",
    inspect.FloatType: "number",
    inspect.StrType: "string",
    inspect.BoolType: "boolean",
}


@dataclasses.dataclass
class FieldDoc:
    """What the docs show about one field."""

    type: str = ""
    required: bool = False
    default: str = ""
    unit: str = ""
    description: str = ""
    example: str = ""
    constraints: list[str] = dataclasses.field(default_factory=list)


def describe(field: inspect.Field) -> FieldDoc:
    """Describe a struct field: type, requiredness, default, unit, constraints, example."""
    info = FieldDoc(required=field.required)
    default = field.default
    if field.default_factory is not msgspec.NODEFAULT:
        default = field.default_factory()
    if not field.required and default not in (None, msgspec.NODEFAULT):
        info.default = _json(default)
    info.type = _walk(field.type, info)
    suffix = f" Unit: {info.unit}."
    if info.unit and info.description.endswith(suffix):
        info.description = info.description.removesuffix(suffix)
    return info


def _walk(tp: inspect.Type, info: FieldDoc) -> str:
    """Return the type name of ``tp`` and record its metadata and constraints in ``info``."""
    if isinstance(tp, inspect.Metadata):
        _record_metadata(tp, info)
        return _walk(tp.type, info)
    if isinstance(tp, inspect.UnionType):
        names = [_walk(t, info) for t in tp.types if not isinstance(t, inspect.NoneType)]
        return " or ".join([", ".join(names[:-1]), names[-1]] if len(names) > 2 else names)
    if isinstance(tp, inspect.LiteralType):
        info.constraints.append("one of " + ", ".join(f"`{v}`" for v in tp.values))
        return "string"
    if isinstance(tp, inspect.StructType):
        name = _node_name(tp.cls)
        return f"object ([{name}](#{name}-node))"
    if isinstance(tp, inspect.DictType):
        return _dict(tp, info)
    _record_constraints(tp, info)
    return _SCALARS.get(type(tp), type(tp).__name__)


def _record_metadata(tp: inspect.Metadata, info: FieldDoc) -> None:
    schema = tp.extra_json_schema or {}
    if not info.description and "description" in schema:
        info.description = str(schema["description"])
    if not info.example and schema.get("examples"):
        info.example = _json(schema["examples"][0])
    if not info.unit and tp.extra and tp.extra.get("unit"):
        info.unit = str(tp.extra["unit"])


def _record_constraints(tp: inspect.Type, info: FieldDoc) -> None:
    bounds = [("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")]
    for attr, symbol in bounds:
        value = getattr(tp, attr, None)
        if value is not None:
            info.constraints.append(f"{symbol} {value}")
    low, high = getattr(tp, "min_length", None), getattr(tp, "max_length", None)
    if low is not None or high is not None:
        info.constraints.append(_length(low, high, "chars"))
    pattern = getattr(tp, "pattern", None)
    if pattern is not None:
        info.constraints.append(f"pattern `{pattern}`")


def _dict(tp: inspect.DictType, info: FieldDoc) -> str:
    if tp.min_length is not None or tp.max_length is not None:
        info.constraints.append(_length(tp.min_length, tp.max_length, "keys"))
    key = FieldDoc()
    _walk(tp.key_type, key)
    info.constraints += [f"key {c}" for c in key.constraints]
    values = FieldDoc()
    value_type = _walk(tp.value_type, values)
    info.constraints += [f"string value {c}" for c in values.constraints]
    return f"object of {value_type}"


def _length(low: int | None, high: int | None, what: str) -> str:
    if low is not None and high is not None:
        return f"{low} to {high} {what}"
    if high is not None:
        return f"≤ {high} {what}"
    return f"≥ {low} {what}"


def _node_name(cls: type[Any]) -> str:
    return cls.__name__.removesuffix("Node").lower()


def _json(value: object) -> str:
    return msgspec.json.encode(value).decode()
