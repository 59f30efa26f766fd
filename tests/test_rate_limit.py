"""Rate limiting per client (issue 11, item 3): a token bucket per client address, off by default,
429 with Retry-After in the one error shape, health probes exempt, X-Forwarded-For trusted only
from FORWARDED_ALLOW_IPS. The HTTP tests run a real uvicorn server (its proxy-header handling is
what decides who the client is)."""

from __future__ import annotations

import math
import time
from collections import Counter

import httpx
import pytest

from app.api.ratelimit import TokenBuckets
from app.config import Settings
from tests.live_server import live_server

DATA = "/seizures?drug=fentanyl&fiscal_year=2021&group_by=component"
# 0.01 request per second: no token comes back during a test, so the counts are exact.
SLOW = 0.01
BURST = 5


def statuses(client: httpx.Client, path: str, count: int, **headers: str) -> Counter:
    return Counter(client.get(path, headers=headers).status_code for _ in range(count))


def test_a_bucket_refills_at_the_rate_up_to_the_burst() -> None:
    buckets = TokenBuckets(rate=2, burst=3)
    assert [buckets.take("a", now=100.0) for _ in range(4)] == [0, 0, 0, 0.5]
    assert buckets.take("a", now=100.25) == 0.25  # half a token back, not enough
    assert buckets.take("a", now=100.5) == 0  # one token after 0.5 s at 2 per second
    assert buckets.take("b", now=100.5) == 0  # another client has its own bucket
    assert [buckets.take("a", now=1000.0) for _ in range(4)] == [0, 0, 0, 0.5]  # capped at burst


def test_the_least_recently_seen_clients_are_forgotten_first() -> None:
    buckets = TokenBuckets(rate=1, burst=1, max_keys=3)
    for key in "abcd":
        buckets.take(key, now=0.0)
    assert len(buckets) == 3
    assert buckets.take("a", now=0.0) == 0  # forgotten, so a full bucket again
    assert buckets.take("d", now=0.0) == 1.0  # remembered: empty


def test_rate_limiting_is_off_by_default(loaded_url: str) -> None:
    assert Settings().rate_limit == 0
    with live_server(Settings(database_url=loaded_url, log_level="WARNING")) as base, \
            httpx.Client(base_url=base) as client:
        assert statuses(client, DATA, 60) == {200: 60}


def test_a_client_past_its_burst_gets_429_with_retry_after(loaded_url: str) -> None:
    settings = Settings(database_url=loaded_url, log_level="WARNING", rate_limit=SLOW,
                        rate_burst=BURST)
    with live_server(settings, proxy_headers=True, forwarded_allow_ips="127.0.0.1") as base, \
            httpx.Client(base_url=base) as client:
        started = time.monotonic()
        assert statuses(client, DATA, 12) == {200: BURST, 429: 12 - BURST}
        refused = client.get(DATA)
        elapsed = time.monotonic() - started
        assert refused.status_code == 429
        # One token takes 100 s at 0.01 per second; the time these requests took has already
        # refilled a sliver of it, so the wait is 100 s less that time, rounded up (on a quiet
        # machine, elapsed < 1 s and it is exactly 100).
        wait = int(refused.headers["retry-after"])
        assert math.ceil(100 - elapsed) <= wait <= 100
        assert refused.json()["error"] == {
            "code": "rate_limited", "retry_after_seconds": wait,
            "message": "too many requests from this client: at most 0.01 per second after a burst "
                       f"of 5; retry after {wait} s"}
        # the probes are exempt, and another client (named by the trusted proxy) has its own bucket
        assert statuses(client, "/healthz", 30) == {200: 30}
        assert statuses(client, "/readyz", 10) == {200: 10}
        assert statuses(client, DATA, 8, **{"X-Forwarded-For": "203.0.113.7"}) == {
            200: BURST, 429: 8 - BURST}
        assert statuses(client, DATA, 3, **{"X-Forwarded-For": "203.0.113.8"}) == {200: 3}


def test_x_forwarded_for_from_an_untrusted_peer_does_not_pick_a_bucket(loaded_url: str) -> None:
    settings = Settings(database_url=loaded_url, log_level="WARNING", rate_limit=SLOW,
                        rate_burst=BURST)
    with live_server(settings, proxy_headers=True, forwarded_allow_ips="192.0.2.1") as base, \
            httpx.Client(base_url=base) as client:
        assert statuses(client, DATA, 3) == {200: 3}
        forged = Counter(client.get(DATA, headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code
                         for i in range(6))
        assert forged == {200: BURST - 3, 429: 6 - (BURST - 3)}


@pytest.mark.parametrize("method, path", [("GET", "/seizures"), ("POST", "/claims/verify")])
def test_429_is_documented_on_every_rate_limited_operation(loaded_url: str, method: str,
                                                           path: str) -> None:
    from app.main import create_app

    schema = create_app(Settings(database_url=loaded_url, log_level="WARNING")).openapi()
    response = schema["paths"][path][method.lower()]["responses"]["429"]
    assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert "Retry-After" in response["headers"]
