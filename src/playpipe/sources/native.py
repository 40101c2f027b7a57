"""The native format: dictionary events as the collector validated them.

A raw message holds one event (a JSON object) or the events of one view from one request
(a JSON array, in the order received): the collector groups a batch by view so that a
typical beacon batch costs one Kafka message, not one per event.
"""

from __future__ import annotations

from playpipe.dictionary import (
    Event,
    ValidationError,
    decode_event,
    decode_events,
    error_field,
    error_reason,
)
from playpipe.sources.registry import MappingError


class NativeFormat:
    """Dictionary events need no mapping, only decoding (they were validated on the way in)."""

    name = "native"

    def map(self, value: bytes, headers: dict[str, bytes]) -> list[Event]:
        try:
            if value[:1] == b"[":
                return decode_events(value)
            return [decode_event(value)]
        except ValidationError as exc:
            raise MappingError(error_reason(exc), error_field(exc)) from None
        except (ValueError, RecursionError) as exc:  # malformed JSON, invalid UTF-8
            raise MappingError(f"not a JSON event or array of events: {exc}") from None
