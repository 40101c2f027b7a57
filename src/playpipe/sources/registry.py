"""The registry of source formats: built-ins by import string, others by entry point."""

from __future__ import annotations

import importlib
from functools import cache
from importlib.metadata import entry_points
from typing import Protocol

from playpipe.dictionary import Event
from playpipe.errors import PlaypipeError

BUILTIN: dict[str, str] = {
    "native": "playpipe.sources.native:NativeFormat",
    "cmcd": "playpipe.sources.cmcd:CmcdFormat",
    "cmcd_request": "playpipe.sources.cmcd:CmcdRequestFormat",
    "mux": "playpipe.sources.mux:MuxFormat",
    "snowplow": "playpipe.sources.snowplow:SnowplowFormat",
    "epas": "playpipe.sources.epas:EpasFormat",
}
ENTRY_POINT_GROUP = "playpipe.sources"


class MappingError(PlaypipeError):
    """A raw message cannot be mapped to dictionary events; ``field`` names what is wrong."""

    def __init__(self, reason: str, field: str = "$") -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


class SourceFormat(Protocol):
    """Maps one raw message of a wire format to dictionary events."""

    name: str

    def map(self, value: bytes, headers: dict[str, bytes]) -> list[Event]:
        """The events in ``value``; raise ``MappingError`` when it cannot be mapped."""
        ...


def _import(target: str) -> SourceFormat:
    module_name, _, attribute = target.partition(":")
    factory = getattr(importlib.import_module(module_name), attribute)
    instance: SourceFormat = factory()
    return instance


def available_formats() -> list[str]:
    """Every format name known: built-ins and installed plugins."""
    plugins = {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    return sorted(set(BUILTIN) | plugins)


@cache
def get_format(name: str) -> SourceFormat:
    """The format called ``name``, one instance per process; ``MappingError`` if none."""
    return make_format(name)


def make_format(name: str) -> SourceFormat:
    """A new instance of the format called ``name`` (formats may keep per-view state, so a
    stage that owns its state makes its own); ``MappingError`` if there is none."""
    if name in BUILTIN:
        return _import(BUILTIN[name])
    for ep in entry_points(group=ENTRY_POINT_GROUP, name=name):
        return _import(ep.value)
    raise MappingError(f"unknown source format {name!r}; known: {', '.join(available_formats())}")
