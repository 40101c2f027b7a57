"""Field documentation helper and the constrained scalar types shared by every struct.

Constraints live on the type aliases below; descriptions, units and examples are attached per
field with :func:`doc`. msgspec merges both, so a field reads as::

    playhead_ms: Annotated[Millis | None, doc("Playhead position.", 61250, unit="ms")] = None
"""

from __future__ import annotations

from typing import Annotated, Final

from msgspec import Meta

__all__ = [
    "MAX_INT",
    "MAX_KBPS",
    "MAX_RENDITION_KBPS",
    "Bytes",
    "Count",
    "EpochMillis",
    "Id",
    "Kbps",
    "Language",
    "LongText",
    "Millis",
    "Pixels",
    "RenditionKbps",
    "Text",
    "Url",
    "Version",
    "doc",
]


def doc(description: str, *examples: object, unit: str | None = None) -> Meta:
    """Describe a field: a sentence, wire examples (if any) and an optional unit.

    The unit is appended to the description (so it reaches the JSON Schema) and kept in
    ``Meta.extra["unit"]`` for the generated data dictionary page.
    """
    if unit is not None:
        description = f"{description} Unit: {unit}."
    extra = {"unit": unit} if unit is not None else None
    return Meta(description=description, examples=list(examples) or None, extra=extra)


MAX_INT: Final = 2**53 - 1
"""The largest integer the dictionary takes: every JSON parser keeps it exact, and sums of
such values still fit the aggregator's 64-bit state and checkpoints."""

MAX_KBPS: Final = 1e9
"""The highest bit rate the dictionary takes (1 Tbit/s): far above any real stream or
bandwidth estimate, and finite (a rendition's, which windows sum, is bounded lower)."""

EpochMillis = Annotated[int, Meta(ge=0, le=MAX_INT)]
"""A wall-clock instant: milliseconds since the Unix epoch (UTC)."""

Millis = Annotated[int, Meta(ge=0, le=MAX_INT)]
"""A duration or a media position in whole milliseconds."""

Count = Annotated[int, Meta(ge=0, le=MAX_INT)]
"""A non-negative count."""

Bytes = Annotated[int, Meta(ge=0, le=MAX_INT)]
"""A size in bytes."""

Pixels = Annotated[int, Meta(ge=0, le=100_000)]
"""A width or height in CSS or video pixels."""

Kbps = Annotated[float, Meta(ge=0, le=MAX_KBPS)]
"""A bit rate in kilobits per second (1 kbps = 1000 bit/s); JSON integers are accepted."""

MAX_RENDITION_KBPS: Final = 1e6
"""The highest declared rendition bit rate (1 Gbit/s, several times any real video stream):
the aggregator's windows sum it weighted by time in 64-bit integers."""

RenditionKbps = Annotated[float, Meta(ge=0, le=MAX_RENDITION_KBPS)]
"""A rendition's declared bit rate in kbps (at most 1 Gbit/s)."""

Id = Annotated[str, Meta(min_length=1, max_length=128)]
"""An opaque identifier."""

Text = Annotated[str, Meta(max_length=256)]
"""A short free-text value (names, labels)."""

LongText = Annotated[str, Meta(max_length=2048)]
"""A longer free-text value (messages, user agents)."""

Url = Annotated[str, Meta(max_length=2048)]
"""An absolute or relative URL."""

Version = Annotated[str, Meta(max_length=64)]
"""A version string as reported by its software, e.g. semver."""

Language = Annotated[str, Meta(max_length=35)]
"""A BCP 47 language tag."""
