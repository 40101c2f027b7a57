"""Decoding, validation and encoding of dictionary events.

One module-level decoder and encoder are built once and reused: building them compiles the
type, which is far more expensive than a decode.
"""

from __future__ import annotations

import re

import msgspec

from playpipe.dictionary.events import Event

__all__ = [
    "ValidationError",
    "convert_event",
    "decode_event",
    "decode_events",
    "encode_event",
    "encode_events",
    "error_field",
    "error_reason",
]

ValidationError = msgspec.ValidationError
"""Raised when a JSON document is well-formed but is not a valid event (subclass of
``msgspec.DecodeError``, itself a ``ValueError``). Malformed JSON raises ``msgspec.DecodeError``."""

_decoder: msgspec.json.Decoder[Event] = msgspec.json.Decoder(Event)
_batch_decoder: msgspec.json.Decoder[list[Event]] = msgspec.json.Decoder(list[Event])
_encoder = msgspec.json.Encoder()

_PATH = re.compile(r"`(\$[^`]*)`$")
_NAMED_FIELD = re.compile(r"^Object (?:missing required|contains unknown) field `([^`]*)`")
_SUFFIX = re.compile(r" - at `.*$")


def decode_event(data: bytes | str) -> Event:
    """Decode and validate one JSON event.

    Raises ``ValidationError`` for a valid JSON document that is not a valid event and
    ``msgspec.DecodeError`` for malformed JSON.
    """
    return _decoder.decode(data)


def decode_events(data: bytes | str) -> list[Event]:
    """Decode and validate a JSON array of events; the first invalid event fails the batch.

    To accept the valid events of a batch and reject the others one by one, parse the body
    once and call :func:`convert_event` per item.
    """
    return _batch_decoder.decode(data)


def convert_event(obj: object) -> Event:
    """Validate one already-parsed JSON value (a ``dict``) and return the typed event.

    Anything else than a valid event object, including a non-dict, raises ``ValidationError``
    with a JSON path such as ``$.fluxdata.bitrate_kbps``.
    """
    # msgspec.convert re-resolves the tagged union on every call (tens of µs); a round trip
    # through JSON bytes uses the compiled decoder and reports the same paths.
    try:
        data = _encoder.encode(obj)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValidationError(f"not representable as JSON: {exc} - at `$`") from None
    return _decoder.decode(data)


def encode_event(event: Event) -> bytes:
    """Encode one event as compact JSON; defaults are omitted except ``schema_version``."""
    return _encoder.encode(event)


def encode_events(events: list[Event]) -> bytes:
    """Encode events as one JSON array."""
    return _encoder.encode(events)


def error_field(exc: msgspec.ValidationError) -> str:
    """Return the JSON path of the field a validation error is about.

    ``$`` is the event itself, ``$.fluxdata.bitrate_kbps`` a nested field, ``$[3].seq`` an item
    of a batch. Missing and unknown fields name the field itself, e.g. ``$.error.code``.
    """
    message = str(exc)
    match = _PATH.search(message)
    path = match.group(1) if match else "$"
    named = _NAMED_FIELD.match(message)
    if named:
        path = f"{path}.{named.group(1)}"
    return path


def error_reason(exc: msgspec.ValidationError) -> str:
    """Return the message of a validation error without its location.

    For example ``Expected `int` >= 0``; pair it with :func:`error_field`.
    """
    return _SUFFIX.sub("", str(exc))
