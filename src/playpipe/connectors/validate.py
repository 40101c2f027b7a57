"""Clear start-up errors for ``[[connectors]]`` tables: which connector, which key, what fix.

The generic loader reports a bad table as ``connectors[2]``; ``check_tables`` reads the raw
tables first and names the connector, the key, the keys allowed there and the fix.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from playpipe.connectors.settings import CONNECTOR_TYPES, ConnectorConfig, ConnectorSettings
from playpipe.errors import ConfigError

TYPES: dict[str, type[ConnectorSettings]] = {
    str(cls.__struct_config__.tag): cls for cls in CONNECTOR_TYPES
}
_UNKNOWN = re.compile(r"Object contains unknown field `([^`]*)`")
_MISSING = re.compile(r"Object missing required field `([^`]*)`")
_AT = re.compile(r" - at `\$\.?([^`]*)`")


def _keys(cls: type[ConnectorSettings], path: list[str]) -> list[str]:
    """Keys allowed in the table at ``path`` (nested tables walked by field name)."""
    tp: Any = cls
    for part in path:
        hints = msgspec.structs.fields(tp)
        match = next((f for f in hints if f.encode_name == part), None)
        if match is None or not isinstance(match.type, type):
            return []
        tp = match.type
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        return sorted(f.encode_name for f in msgspec.structs.fields(tp) if f.encode_name != "type")
    return []


def explain(table: Mapping[str, Any], index: int, origin: str) -> str | None:
    """What is wrong with one ``[[connectors]]`` table, or ``None`` if it is valid."""
    name = table.get("name") or f"#{index + 1}"
    where = f"connector `{name}` (read from {origin})"
    kind = table.get("type")
    if kind not in TYPES:
        close = difflib.get_close_matches(str(kind), list(TYPES), n=1)
        hint = f" Did you mean `{close[0]}`?" if close else ""
        return (
            f"The {where} has type `{kind}`, which is not a connector type.{hint} "
            f"Set `type` to one of: {', '.join(TYPES)}."
        )
    cls = TYPES[kind]
    try:
        msgspec.convert(table, cls, strict=False)
    except msgspec.ValidationError as exc:
        return _message(str(exc), cls, where, str(kind))
    return None


def _message(text: str, cls: type[ConnectorSettings], where: str, kind: str) -> str:
    at = _AT.search(text)
    path = [p for p in (at.group(1).split(".") if at else []) if p]
    unknown = _UNKNOWN.match(text)
    if unknown:
        key = unknown.group(1)
        allowed = _keys(cls, path)
        dotted = ".".join([*path, key])
        close = difflib.get_close_matches(key, allowed, n=1)
        hint = f"Rename it to `{'.'.join([*path, close[0]])}`" if close else "Remove it"
        return (
            f"The {where} has an unknown key `{dotted}`. {hint}. "
            f"Keys allowed in a {kind} connector{' ' + '.'.join(path) if path else ''}: "
            f"{', '.join(allowed)}."
        )
    missing = _MISSING.match(text)
    if missing:
        dotted = ".".join([*path, missing.group(1)])
        return f"The {where} lacks the required key `{dotted}`. Add it to its table."
    problem = _AT.sub("", text)
    dotted = ".".join(path) or "?"
    return f"The {where} has an invalid `{dotted}`: {problem}. Fix the value in its table."


def check_tables(tables: Any, origin: str) -> None:
    """Raise ``ConfigError`` for the first invalid or duplicate ``[[connectors]]`` table."""
    if tables is None:
        return
    if not isinstance(tables, list):
        raise ConfigError(
            f"`connectors` (read from {origin}) must be an array of tables: write each "
            "connector as a [[connectors]] section."
        )
    seen: set[str] = set()
    for index, table in enumerate(tables):
        if not isinstance(table, Mapping):
            raise ConfigError(f"`connectors[{index}]` (read from {origin}) must be a table.")
        problem = explain(table, index, origin)
        if problem:
            raise ConfigError(problem)
        name = str(table["name"])
        if name in seen:
            raise ConfigError(
                f"Two connectors are named `{name}` (read from {origin}): names must be unique "
                "because each names a consumer group and a dead-letter topic. Rename one."
            )
        seen.add(name)


def check_file(
    path: str | os.PathLike[str] | None, environ: Mapping[str, str] | None = None
) -> None:
    """Check the ``[[connectors]]`` tables of the configuration file that would be read."""
    from playpipe.config import config_path

    file = config_path(path, os.environ if environ is None else environ)
    if file is None or not Path(file).is_file():
        return
    try:
        with Path(file).open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError:
        return  # the generic loader reports it
    check_tables(data.get("connectors"), str(file))


def find(connectors: list[ConnectorConfig], name: str) -> ConnectorConfig:
    """The connector called ``name``; ``ConfigError`` listing the configured ones if none."""
    for settings in connectors:
        if settings.name == name:
            return settings
    known = ", ".join(f"`{c.name}`" for c in connectors) or "none"
    raise ConfigError(
        f"No connector is named `{name}` (configured: {known}). Add a [[connectors]] table "
        f'with name = "{name}" to playpipe.toml, or pick one of the configured names.'
    )
