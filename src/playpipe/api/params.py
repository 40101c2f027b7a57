"""Query-parameter parsing: every bad value becomes a 400 that names the parameter.

Times are epoch milliseconds, ISO 8601 (``2026-01-01T12:00:00Z``), ``now`` or relative to
now (``-5m``, ``-1h``, ``-24h``, ``-30s``, ``-7d``). Filters are ``name:value`` pairs joined
by commas; a name given twice matches either value (``cdn:akamai,cdn:fastly``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import datetime

__all__ = [
    "BadParameter",
    "check_known",
    "parse_choice",
    "parse_filter",
    "parse_int",
    "parse_list",
    "parse_time",
]

_RELATIVE = re.compile(r"^-([0-9]+)(ms|s|m|h|d)$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


class BadParameter(ValueError):
    """A query parameter is missing, unknown or has a value outside what is allowed."""

    def __init__(self, parameter: str, message: str, allowed: Collection[str] = ()) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.message = message
        self.allowed = sorted(allowed)

    def body(self) -> dict[str, object]:
        """The JSON body of the 400 answer."""
        body: dict[str, object] = {
            "error": "bad_parameter",
            "parameter": self.parameter,
            "message": self.message,
        }
        if self.allowed:
            body["allowed"] = self.allowed
        return body


def check_known(query: Mapping[str, str], known: Collection[str]) -> None:
    """Reject parameters the endpoint does not take (a typo would silently be ignored)."""
    for name in query:
        if name not in known:
            raise BadParameter(
                name,
                f"Unknown parameter `{name}`; this endpoint takes: {', '.join(sorted(known))}.",
                known,
            )


def parse_time(value: str | None, parameter: str, now_ms: int, default_ms: int) -> int:
    """Epoch ms from ms, ISO 8601, ``now`` or ``-<n><unit>``; ``default_ms`` when absent."""
    if value is None or value == "":
        return default_ms
    text = value.strip()
    if text == "now":
        return now_ms
    if text.isdigit():
        return int(text)
    match = _RELATIVE.match(text)
    if match:
        return now_ms - int(match.group(1)) * _UNIT_MS[match.group(2)]
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadParameter(
            parameter,
            f"`{parameter}` must be epoch milliseconds, ISO 8601 (2026-01-01T12:00:00Z), "
            f"`now` or relative like -5m, -1h, -24h; got {value!r}.",
        ) from None
    if stamp.tzinfo is None:
        raise BadParameter(parameter, f"`{parameter}` needs a time zone, e.g. {text}Z.")
    return int(stamp.timestamp() * 1000)


def parse_choice(value: str | None, parameter: str, allowed: Collection[str], default: str) -> str:
    """One of ``allowed``; ``default`` when absent."""
    if value is None or value == "":
        return default
    if value not in allowed:
        raise BadParameter(
            parameter,
            f"`{parameter}` must be one of: {', '.join(sorted(allowed))}; got {value!r}.",
            allowed,
        )
    return value


def parse_list(value: str | None, parameter: str, allowed: Collection[str]) -> list[str]:
    """A comma-separated list, each item one of ``allowed``; ``[]`` when absent."""
    if value is None or value.strip() == "":
        return []
    items = [item.strip() for item in value.split(",") if item.strip()]
    for item in items:
        if item not in allowed:
            raise BadParameter(
                parameter,
                f"`{parameter}` has {item!r}; allowed: {', '.join(sorted(allowed))}.",
                allowed,
            )
    return list(dict.fromkeys(items))


def parse_filter(value: str | None, allowed: Collection[str]) -> dict[str, list[str]]:
    """``cdn:akamai,country:FR`` → ``{"cdn": ["akamai"], "country": ["FR"]}``."""
    out: dict[str, list[str]] = {}
    if value is None or value.strip() == "":
        return out
    for pair in value.split(","):
        name, sep, item = pair.strip().partition(":")
        if not sep or not name or not item:
            raise BadParameter(
                "filter",
                f"`filter` takes name:value pairs joined by commas, e.g. cdn:akamai,country:FR; "
                f"got {pair!r}.",
                allowed,
            )
        if name not in allowed:
            raise BadParameter(
                "filter",
                f"`filter` names an unknown dimension {name!r}; allowed: "
                f"{', '.join(sorted(allowed))}.",
                allowed,
            )
        out.setdefault(name, []).append(item)
    return out


def parse_int(value: str | None, parameter: str, low: int, high: int, default: int) -> int:
    """An integer in ``[low, high]``; ``default`` when absent."""
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        number = low - 1
    if not low <= number <= high:
        raise BadParameter(
            parameter, f"`{parameter}` must be an integer from {low} to {high}; got {value!r}."
        )
    return number
