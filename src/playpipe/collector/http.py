"""Small helpers over raw ASGI: headers, bodies with limits, JSON responses, CORS."""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

import msgspec

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_json = msgspec.json.Encoder()


class TooLarge(Exception):
    """The body is larger than allowed; ``head`` holds its first bytes."""

    def __init__(self, head: bytes, size: int | None) -> None:
        super().__init__("body too large")
        self.head = head
        self.size = size


def headers_of(scope: Scope) -> dict[str, str]:
    """Request headers, lower-cased names; repeated headers joined with ``,``."""
    out: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        out[name] = f"{out[name]},{value}" if name in out else value
    return out


def parse_query(query_string: bytes) -> dict[str, list[str]]:
    """The query string as ``parse_qs`` reads it; plain ``a=b&c=d`` skips the percent decoder."""
    text = query_string.decode("latin-1")
    if "%" in text or "+" in text or ";" in text:
        return parse_qs(text)
    out: dict[str, list[str]] = {}
    for pair in text.split("&"):
        name, _, value = pair.partition("=")
        if value:
            out.setdefault(name, []).append(value)
    return out


async def read_body(receive: Receive, limit: int, head_cap: int) -> bytes:
    """Read the whole body, or raise ``TooLarge`` as soon as it passes ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            chunks.append(chunk)
            raise TooLarge(b"".join(chunks)[:head_cap], None)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def gunzip(body: bytes, limit: int, head_cap: int) -> bytes:
    """Decompress a gzip body without ever holding more than ``limit`` bytes (zip bombs)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = inflater.decompress(body, limit + 1)
    if len(out) > limit:
        raise TooLarge(out[:head_cap], None)
    if not inflater.eof:
        raise zlib.error("the gzip stream is truncated")
    return out


async def respond(
    send: Send, status: int, body: Any, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """Send a JSON response."""
    payload = _json.encode(body)
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *(headers or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


async def respond_raw(
    send: Send,
    status: int,
    payload: bytes,
    content_type: str,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    raw_headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(payload)).encode()),
        *(headers or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


class Cors:
    """Answers preflights and adds CORS headers for the allowed origins."""

    ALLOW_HEADERS = b"content-type, content-encoding, x-playpipe-key, x-playpipe-sent-at"

    def __init__(self, origins: list[str]) -> None:
        self.any = "*" in origins
        self.origins = {o.rstrip("/") for o in origins if o != "*"}

    def allowed(self, origin: str | None) -> bool:
        return origin is None or self.any or origin.rstrip("/") in self.origins

    def headers(self, origin: str | None) -> list[tuple[bytes, bytes]]:
        if origin is None or not self.allowed(origin):
            return []
        # Echo the origin (not "*") so that credentialed requests work too.
        return [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-credentials", b"true"),
            (b"access-control-expose-headers", b"retry-after"),
            (b"vary", b"origin"),
        ]

    def preflight_headers(self, origin: str | None) -> list[tuple[bytes, bytes]]:
        if origin is None or not self.allowed(origin):
            return [(b"vary", b"origin")]
        return [
            *self.headers(origin),
            (b"access-control-allow-methods", b"POST, OPTIONS"),
            (b"access-control-allow-headers", self.ALLOW_HEADERS),
            (b"access-control-max-age", b"86400"),
        ]
