"""Dotted paths into records, and the paths the data dictionary defines.

Filters and field selections name fields by dotted paths (``player.name``). On event topics
they are checked at start against the dictionary, so a typo fails before any event flows.
"""

from __future__ import annotations

import difflib
import functools
from typing import Any

from msgspec import inspect

from playpipe.dictionary import EVENT_CLASSES

ANY = "*"
"""A tree key meaning: any key below is valid (free-form mappings like ``custom``)."""

PathTree = dict[str, Any]
"""A tree of known names; a value is a subtree, ``None`` for a leaf."""

EVENT_TOPICS = frozenset({"events"})
"""Short topic names whose records are dictionary events."""

MISSING: Any = object()
"""Returned by :func:`get_path` when a path is absent."""


def split(path: str) -> list[str]:
    """``"player.name"`` -> ``["player", "name"]``."""
    return path.split(".")


def get_path(record: dict[str, Any], parts: list[str]) -> Any:
    """The value at ``parts`` in ``record``, or :data:`MISSING`."""
    node: Any = record
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return MISSING
        node = node[part]
    return node


def _tree_of(tp: inspect.Type) -> Any:
    if isinstance(tp, inspect.Metadata):
        return _tree_of(tp.type)
    if isinstance(tp, inspect.UnionType):
        trees = [t for t in (_tree_of(m) for m in tp.types) if t is not None]
        return trees[0] if trees else None
    if isinstance(tp, inspect.StructType):
        return {f.encode_name: _tree_of(f.type) for f in tp.fields}
    if isinstance(tp, inspect.DictType):
        return {ANY: None}
    return None


@functools.cache
def event_tree() -> PathTree:
    """Every path of every event type, plus the ``timestamp`` connectors add."""
    tree: PathTree = {"event_type": None, "timestamp": None}
    for cls in EVENT_CLASSES:
        info = inspect.type_info(cls)
        assert isinstance(info, inspect.StructType)
        for field in info.fields:
            tree.setdefault(field.encode_name, _tree_of(field.type))
    return tree


def check_path(path: str, tree: PathTree | None) -> str | None:
    """Why ``path`` is not valid in ``tree`` (``None``: no tree to check, or it is valid)."""
    parts = split(path)
    if any(not part for part in parts):
        return f"`{path}` has an empty segment"
    if tree is None:
        return None
    node: Any = tree
    for depth, part in enumerate(parts):
        if node is None:
            parent = ".".join(parts[:depth])
            return f"`{parent}` has no fields, so `{path}` cannot exist"
        if ANY in node:
            return None
        if part not in node:
            where = ".".join(parts[:depth]) or "an event"
            close = difflib.get_close_matches(part, list(node), n=1)
            hint = f"; did you mean `{'.'.join([*parts[:depth], close[0]])}`?" if close else ""
            return f"`{part}` is not a field of {where}{hint}"
        node = node[part]
    return None


def tree_for(topic: str) -> PathTree | None:
    """The tree to check paths against on ``topic`` (``None``: records are free-form)."""
    return event_tree() if topic in EVENT_TOPICS else None
