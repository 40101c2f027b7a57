"""What HTTP destinations share: status mapping, ``Retry-After``, probes and gzip.

Status mapping (one rule for every HTTP connector):

- 2xx: delivered;
- 400, 401, 403, 404, 410, 422 and any other 4xx: ``TerminalError`` (to the DLQ);
- 408 (request timeout): ``TransientError``;
- 429: ``BackpressureError`` honouring ``Retry-After`` (seconds or an HTTP date);
- 5xx, timeouts and connection errors: ``TransientError``.
"""

from __future__ import annotations

import email.utils
import gzip as gzip_module
import time

import httpx

from playpipe.connectors.base import HealthcheckError
from playpipe.errors import BackpressureError, DeliveryError, TerminalError, TransientError

TERMINAL_STATUSES = frozenset({400, 401, 403, 404, 410, 422})
DEFAULT_RETRY_AFTER_S = 1.0


def retry_after(value: str | None, now: float | None = None) -> float:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or HTTP date); 0 if none."""
    if not value:
        return 0.0
    text = value.strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError):
        return 0.0
    return max(when - (time.time() if now is None else now), 0.0)


def classify(
    status: int, headers: httpx.Headers | dict[str, str], detail: str
) -> DeliveryError | None:
    """The error an HTTP status means for a whole batch (``None`` for 2xx)."""
    if 200 <= status < 300:
        return None
    message = f"HTTP {status}: {detail[:500]}".rstrip(": ")
    if status == 429:
        wait = retry_after(headers.get("retry-after")) or DEFAULT_RETRY_AFTER_S
        return BackpressureError(message, retry_after=wait)
    if status == 408 or status >= 500:
        return TransientError(message)
    return TerminalError(message)


def check(response: httpx.Response) -> None:
    """Raise the error ``response``'s status means; return on 2xx."""
    error = classify(response.status_code, response.headers, response.text)
    if error is not None:
        raise error


def send(client: httpx.Client, url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    """POST ``body``; network failures and timeouts become ``TransientError``."""
    try:
        return client.post(url, content=body, headers=headers)
    except httpx.TimeoutException as exc:
        raise TransientError(f"timed out after {client.timeout.read}s: {exc}") from None
    except httpx.TransportError as exc:
        raise TransientError(f"{type(exc).__name__}: {exc}") from None


def maybe_gzip(body: bytes, enabled: bool, headers: dict[str, str]) -> bytes:
    """Compress ``body`` (level 1: cheap, most of the gain) and set ``Content-Encoding``."""
    if not enabled:
        return body
    headers["Content-Encoding"] = "gzip"
    return gzip_module.compress(body, compresslevel=1)


def probe(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    url_key: str,
    auth_key: str,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
) -> httpx.Response:
    """Send a probe request; ``HealthcheckError`` when unreachable, refused or not found."""
    try:
        response = client.request(method, url, headers=headers, content=content)
    except httpx.HTTPError as exc:
        raise HealthcheckError(
            url_key,
            f"cannot reach {url} ({type(exc).__name__}: {exc})",
            "Check the address and port, and that the service is up and reachable from here.",
        ) from None
    status = response.status_code
    if status in (401, 403):
        raise HealthcheckError(
            auth_key,
            f"{url} refused the credentials (HTTP {status})",
            "Check the key or token and its permissions.",
        )
    if status in (404, 410):
        raise HealthcheckError(
            url_key, f"{url} answered HTTP {status}", "Check the path of the URL."
        )
    return response


def chunks(sizes: list[int], max_items: int, max_bytes: int, overhead: int = 2) -> list[range]:
    """Split items of ``sizes`` bytes into index ranges within both limits (each item alone
    may exceed ``max_bytes``: it gets a chunk of its own and the destination decides)."""
    ranges: list[range] = []
    start, total = 0, overhead
    for index, size in enumerate(sizes):
        if index > start and (index - start >= max_items or total + size + 1 > max_bytes):
            ranges.append(range(start, index))
            start, total = index, overhead
        total += size + 1
    if start < len(sizes):
        ranges.append(range(start, len(sizes)))
    return ranges
