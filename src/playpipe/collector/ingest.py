"""Turn a request body into valid dictionary events and precise rejections.

A body is a JSON array of events or NDJSON (one event per line). The whole body is refused
(400) only when nothing in it can be read; otherwise every item stands alone: valid events go
on, each invalid one is rejected with its index, the JSON path of the bad field and the reason.
The fast path decodes and validates the whole array in one typed pass; only a batch that
contains a bad event is parsed a second time, item by item, to find which.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

from playpipe.dictionary import (
    Event,
    ValidationError,
    convert_event,
    decode_event,
    decode_events,
    error_field,
    error_reason,
)

_raw_encoder = msgspec.json.Encoder()


class BodyError(Exception):
    """The body as a whole cannot be read: answer ``status`` with this message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Rejected:
    """One event that was not accepted."""

    index: int
    field: str
    reason: str
    raw: bytes
    view_id: str | None = None


@dataclass
class Parsed:
    """The outcome of reading one body."""

    events: list[Event] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def _view_id_of(obj: object) -> str | None:
    if isinstance(obj, dict):
        view = obj.get("view_id")
        if isinstance(view, str) and 0 < len(view) <= 128:
            return view
    return None


# What msgspec raises on unreadable input: malformed JSON, invalid UTF-8 in a string, or
# nesting deeper than the decoder's recursion limit.
Unreadable = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)


def _decode_error(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"invalid UTF-8 at byte {exc.start}"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    text = str(exc)
    if text == "Input data was truncated":
        return "truncated JSON (the body ends in the middle of a value)"
    return text.replace("JSON is malformed: ", "")


def _check_count(count: int, max_events: int) -> None:
    if count > max_events:
        raise BodyError(413, f"too many events: {count} in one batch, at most {max_events}")


def _validate_items(items: list[object], parsed: Parsed) -> None:
    for index, obj in enumerate(items):
        try:
            parsed.events.append(convert_event(obj))
        except ValidationError as exc:
            parsed.rejected.append(
                Rejected(
                    index,
                    error_field(exc),
                    error_reason(exc),
                    _raw_encoder.encode(obj),
                    _view_id_of(obj),
                )
            )


def _parse_array(body: bytes, max_events: int) -> Parsed:
    try:
        events = decode_events(body)
    except ValidationError:
        pass  # valid JSON with at least one bad event: find which below
    except Unreadable as exc:
        raise BodyError(400, f"body is not valid JSON: {_decode_error(exc)}") from None
    else:
        _check_count(len(events), max_events)
        return Parsed(events=events)
    try:
        items = msgspec.json.decode(body)
    except Unreadable as exc:
        raise BodyError(400, f"body is not valid JSON: {_decode_error(exc)}") from None
    if not isinstance(items, list):
        raise BodyError(400, "body is not a JSON array of events")
    _check_count(len(items), max_events)
    parsed = Parsed()
    _validate_items(items, parsed)
    return parsed


def _parse_ndjson(body: bytes, max_events: int) -> Parsed:
    lines = [(n, line) for n, line in enumerate(body.split(b"\n"), start=1) if line.strip()]
    _check_count(len(lines), max_events)
    parsed = Parsed()
    first_error = ""
    for index, (number, line) in enumerate(lines):
        try:
            parsed.events.append(decode_event(line))
        except ValidationError as exc:
            try:
                view = _view_id_of(msgspec.json.decode(line))
            except Unreadable:  # pragma: no cover - it just validated as JSON
                view = None
            parsed.rejected.append(Rejected(index, error_field(exc), error_reason(exc), line, view))
        except Unreadable as exc:
            reason = f"line {number} is not valid JSON: {_decode_error(exc)}"
            first_error = first_error or reason
            parsed.rejected.append(Rejected(index, "$", reason, line))
    if first_error and not parsed.events and all(r.field == "$" for r in parsed.rejected):
        raise BodyError(400, f"body is neither a JSON array nor NDJSON: {first_error}")
    return parsed


def parse_body(body: bytes, max_events: int) -> Parsed:
    """Read a JSON array or NDJSON body into events and rejections (raises ``BodyError``)."""
    start = body.lstrip()[:1]
    if not start:
        raise BodyError(400, "empty body: send a JSON array or NDJSON of events")
    if start == b"[":
        return _parse_array(body, max_events)
    if start == b"{":
        return _parse_ndjson(body, max_events)
    try:
        msgspec.json.decode(body)
    except Unreadable as exc:
        raise BodyError(400, f"body is not valid JSON: {_decode_error(exc)}") from None
    raise BodyError(
        400, "body must be a JSON array of event objects or NDJSON, one object per line"
    )
