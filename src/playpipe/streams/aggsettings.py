"""Settings of the aggregation (sessions and windows) and the window-duration parser."""

from __future__ import annotations

import re
from typing import Annotated, Final

import msgspec

__all__ = [
    "DIMENSIONS",
    "AggregationSettings",
    "parse_duration",
]

DIMENSIONS: Final[tuple[str, ...]] = (
    "content_id",
    "stream_type",
    "player_name",
    "player_version",
    "device_type",
    "os",
    "browser",
    "country",
    "region",
    "asn",
    "isp",
    "cdn",
    "property",
)
"""Standard dimensions of a view, in record order (docs/metrics.md, per view)."""

_DURATION = re.compile(r"^([1-9][0-9]*)(ms|s|m|h)$")
_UNIT_MS: Final[dict[str, int]] = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}

Millis = Annotated[int, msgspec.Meta(ge=0)]
_CUSTOM_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


MAX_WINDOW_MS = 3_600_000
"""The longest window: a window's time-weighted bit rate sum (bit/s times ms) must fit the 64
bits its partials are written with; with 1 h windows and renditions of at most 1 Gbit/s
that holds up to 5,000 such views (half a million at 10 Mbit/s) in one window and key."""


def parse_duration(text: str) -> int:
    """Milliseconds of a duration written ``<n>ms``, ``<n>s``, ``<n>m`` or ``<n>h``.

    ``parse_duration("10s") == 10_000``; anything else raises ``ValueError``.
    """
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"invalid duration {text!r}: write e.g. 500ms, 10s, 1m or 1h")
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


def _default_dimension_sets() -> list[list[str]]:
    return [[], ["cdn"], ["country"], ["device_type"], ["cdn", "country", "device_type"]]


class AggregationSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """How views are sessionized and metrics windowed; every time is event time in ms.

    The caller's watermark is the highest ``event_ts`` seen. A view's events are processed
    once the watermark passed them by ``reorder_ms``; a window is emitted once the watermark
    passed its end by ``grace_ms`` and re-emitted on corrections for ``late_grace_ms`` more.
    """

    windows: list[str] = msgspec.field(default_factory=lambda: ["10s", "1m"])
    """Tumbling window sizes, e.g. ``["10s", "1m"]``; each names its metrics topic."""
    grace_ms: Millis = 5000
    """Delay after a window's end before it is emitted; must be at least ``reorder_ms``."""
    late_grace_ms: Millis = 60_000
    """How long after emission a window is still corrected (re-emitted, revision + 1)."""
    reorder_ms: Millis = 2000
    """Delay before a view's events are processed, so that they can be put in order."""
    view_timeout_ms: Annotated[int, msgspec.Meta(ge=1)] = 60_000
    """A view without events for this long ends at its last event (reason ``timeout``)."""
    concurrency_timeout_ms: Annotated[int, msgspec.Meta(ge=1)] = 25_000
    """A silent view stops counting as concurrent (and its state time stops) after this."""
    dimension_sets: list[list[str]] = msgspec.field(default_factory=_default_dimension_sets)
    """Dimension combinations to report each window by; ``[]`` is all views together."""
    custom_dimensions: list[str] = msgspec.field(default_factory=list)
    """Keys of the ``custom`` node copied into view records and usable in dimension sets."""

    def __post_init__(self) -> None:
        if not self.windows:
            raise ValueError("windows: name at least one window size, e.g. ['10s']")
        sizes = [parse_duration(w) for w in self.windows]
        if len(set(sizes)) != len(sizes):
            raise ValueError(f"windows: sizes must differ, got {self.windows}")
        if max(sizes) > MAX_WINDOW_MS:
            raise ValueError(
                f"windows: at most 1h, got {self.windows}; longer periods are sums of 1h "
                "windows (the metrics API's shape=total adds windows up over any range)"
            )
        if self.grace_ms < self.reorder_ms:
            raise ValueError("grace_ms: must be at least reorder_ms")
        for key in self.custom_dimensions:
            if not _CUSTOM_KEY.match(key) or key in DIMENSIONS:
                raise ValueError(f"custom_dimensions: invalid or reserved key {key!r}")
        if len({tuple(names) for names in self.dimension_sets}) != len(self.dimension_sets):
            raise ValueError("dimension_sets: each dimension set may appear only once")
        known = set(DIMENSIONS) | set(self.custom_dimensions)
        for names in self.dimension_sets:
            unknown = [n for n in names if n not in known]
            if unknown or len(set(names)) != len(names):
                raise ValueError(
                    f"dimension_sets: {names} has unknown or repeated names {unknown}; "
                    "use standard dimensions or keys listed in custom_dimensions"
                )

    @property
    def window_sizes_ms(self) -> list[int]:
        """The window sizes in ms, in the order of ``windows``."""
        return [parse_duration(w) for w in self.windows]

    @property
    def all_dimensions(self) -> tuple[str, ...]:
        """Standard dimensions then custom ones: the order of a view's dimension values."""
        return DIMENSIONS + tuple(self.custom_dimensions)
