"""The native format: one dictionary event as JSON, as the collector validated it."""

from __future__ import annotations

from playpipe.dictionary import Event, ValidationError, decode_event, error_field, error_reason
from playpipe.sources.registry import MappingError


class NativeFormat:
    """Dictionary events need no mapping, only decoding (they were validated on the way in)."""

    name = "native"

    def map(self, value: bytes, headers: dict[str, bytes]) -> list[Event]:
        try:
            return [decode_event(value)]
        except ValidationError as exc:
            raise MappingError(error_reason(exc), error_field(exc)) from None
        except (ValueError, RecursionError) as exc:  # malformed JSON, invalid UTF-8
            raise MappingError(f"not a JSON event: {exc}") from None
