"""Per-client rate limiting: a token bucket per client address, kept in each worker.

The client is the connection's peer address, which uvicorn (`proxy_headers`) replaces with the
X-Forwarded-For address only when the peer is one of FORWARDED_ALLOW_IPS: a client cannot pick
its own bucket by sending the header.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict

from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.security import send_error
from app.errors import ApiError

EXEMPT_PATHS = frozenset({"/healthz", "/readyz"})
MAX_CLIENTS = 50_000  # buckets kept per worker; the least recently seen go first


class TooManyRequests(ApiError):
    status_code = 429
    code = "rate_limited"


class TokenBuckets:
    """`rate` tokens per second up to `burst` per key; a request takes one token."""

    def __init__(self, *, rate: float, burst: int, max_keys: int = MAX_CLIENTS) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, list[float]] = OrderedDict()  # key -> [tokens, updated]

    def take(self, key: str, now: float | None = None) -> float:
        """Take a token for `key`: 0 if there was one, else the seconds until there will be."""
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = [float(self.burst), now]
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket[0] = min(float(self.burst), bucket[0] + (now - bucket[1]) * self.rate)
            bucket[1] = now
        if bucket[0] >= 1:
            bucket[0] -= 1
            return 0.0
        return (1 - bucket[0]) / self.rate

    def __len__(self) -> int:
        return len(self._buckets)


class RateLimit:
    """Answer 429 with Retry-After once a client has used its burst faster than `rate` per second.

    The health probes are exempt, so an orchestrator is never throttled.
    """

    def __init__(self, app: ASGIApp, *, rate: float, burst: int) -> None:
        self.app = app
        self.buckets = TokenBuckets(rate=rate, burst=burst)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        wait = self.buckets.take(client[0] if client else "unknown")
        if not wait:
            await self.app(scope, receive, send)
            return
        retry_after = max(1, math.ceil(wait))
        await send_error(send, TooManyRequests(
            f"too many requests from this client: at most {self.buckets.rate:g} per second after a "
            f"burst of {self.buckets.burst}; retry after {retry_after} s",
            retry_after_seconds=retry_after), [(b"retry-after", str(retry_after).encode())])
