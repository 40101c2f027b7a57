"""JSON Schema export, generated docs and the examples they are built from."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest
from msgspec import inspect

import playpipe.dictionary as dictionary
from playpipe.dictionary import EVENT_CLASSES, EVENT_TYPES, SCHEMA_VERSION, json_schema
from playpipe.dictionary.docs import NODES, render_markdown
from playpipe.dictionary.envelope import BaseEvent
from playpipe.dictionary.examples import field_example
from playpipe.dictionary.schema import json_schema_text

REPO = Path(__file__).resolve().parents[3]


def test_json_schema_is_json_and_lists_every_event_type() -> None:
    schema = json.loads(json.dumps(json_schema()))
    assert schema["$id"].endswith(f"v{SCHEMA_VERSION}")
    assert schema["title"]
    mapping = schema["discriminator"]["mapping"]
    assert schema["discriminator"]["propertyName"] == "event_type"
    assert sorted(mapping) == sorted(EVENT_TYPES)
    for ref in mapping.values():
        assert ref.removeprefix("#/$defs/") in schema["$defs"]


def test_json_schema_is_deterministic() -> None:
    assert json_schema_text() == json_schema_text()
    assert json_schema() == json_schema()
    assert list(json_schema()["$defs"]) == sorted(json_schema()["$defs"])


def test_json_schema_carries_constraints_and_docs() -> None:
    defs = json_schema()["$defs"]
    playing = defs["PlayingEvent"]
    assert playing["additionalProperties"] is False
    assert set(playing["required"]) == {"event_type", "event_id", "seq", "client_ts", "view_id"}
    assert playing["properties"]["seq"]["minimum"] == 0
    assert "Unit: ms" in defs["FluxdataNode"]["properties"]["playhead_ms"]["description"]
    assert defs["ErrorEvent"]["required"] == [
        "event_type",
        "error",
        "event_id",
        "seq",
        "client_ts",
        "view_id",
    ]


def _all_fields() -> list[tuple[str, inspect.Field]]:
    structs: list[type[msgspec.Struct]] = [BaseEvent, *EVENT_CLASSES, *(c for _, c in NODES)]
    fields: list[tuple[str, inspect.Field]] = []
    for cls in structs:
        info = inspect.type_info(cls)
        assert isinstance(info, inspect.StructType)
        fields += [(f"{cls.__name__}.{f.name}", f) for f in info.fields]
    return fields


@pytest.mark.parametrize(
    ("name", "field"), _all_fields(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_field_is_documented(name: str, field: inspect.Field) -> None:
    assert isinstance(field.type, inspect.Metadata), f"{name} has no doc()"
    schema = field.type.extra_json_schema or {}
    assert schema.get("description"), f"{name} has no description"
    field_example(field)  # every field has an example, possibly nested


def test_committed_docs_match_the_code() -> None:
    committed = (REPO / "docs" / "dictionary.md").read_text(encoding="utf-8")
    assert committed == render_markdown(), (
        "docs/dictionary.md is stale: run `python -m playpipe.dictionary.docs > docs/dictionary.md`"
    )


def test_docs_cover_every_event_type_and_node() -> None:
    page = render_markdown()
    for tag in EVENT_TYPES:
        assert f"\n### {tag}\n" in page
    for name, _ in NODES:
        assert f"\n### {name} node\n" in page
    assert "HTML5 `stalled` event" in page


def test_public_api_is_curated() -> None:
    assert sorted(dictionary.__all__) == sorted(set(dictionary.__all__))
    for name in dictionary.__all__:
        assert hasattr(dictionary, name), name
