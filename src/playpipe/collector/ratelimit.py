"""Token buckets per property key and per client IP."""

from __future__ import annotations

from collections import OrderedDict

from playpipe.collector.settings import RateLimit


class TokenBuckets:
    """One bucket per key; the least recently used keys are forgotten past ``max_keys``."""

    def __init__(self, limit: RateLimit, max_keys: int = 100_000) -> None:
        self.rate = limit.rate
        self.burst = float(limit.burst)
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def take(self, key: str, now: float) -> float:
        """Take one token; return 0 if allowed, else the seconds until a token is available."""
        if not self.enabled:
            return 0.0
        tokens, last = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.rate
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return wait
