"""JSON Schema export of the data dictionary."""

from __future__ import annotations

import inspect
from typing import Any

import msgspec

from playpipe.dictionary.envelope import SCHEMA_VERSION
from playpipe.dictionary.events import Event

__all__ = ["SCHEMA_ID", "json_schema", "json_schema_text"]

SCHEMA_ID = f"urn:playpipe:dictionary:event:v{SCHEMA_VERSION}"
"""``$id`` of the exported schema; it changes only when ``SCHEMA_VERSION`` changes."""


def json_schema() -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) of one event, i.e. of the ``Event`` union.

    The output is deterministic: definitions are sorted by name and every call returns an
    equal, freshly built document that the caller may modify.
    """
    generated = msgspec.json.schema(Event)
    definitions = generated.pop("$defs")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": f"playpipe event, data dictionary v{SCHEMA_VERSION}",
        "description": (
            "One playpipe event. The event_type field selects the event; unknown fields are "
            "rejected. Batches sent to the collector are JSON arrays (or NDJSON) of these."
        ),
        **generated,
        "$defs": {name: _tidy(definitions[name]) for name in sorted(definitions)},
    }


def _tidy(definition: dict[str, Any]) -> dict[str, Any]:
    """Dedent a definition's description, which msgspec copies verbatim from the docstring."""
    if "description" in definition:
        definition["description"] = inspect.cleandoc(definition["description"])
    return definition


def json_schema_text() -> str:
    """Return :func:`json_schema` as indented JSON text with a trailing newline."""
    return msgspec.json.format(msgspec.json.encode(json_schema()), indent=2).decode() + "\n"
