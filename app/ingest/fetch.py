"""HTTP for sync: conditional GETs, retries with backoff, bounded downloads to a file.

A request is retried on a timeout, a network error, a cut-off body, 408, 429 and any 5xx, waiting
`backoff * 2**n` seconds with jitter (or what Retry-After asks, within `max_wait`); any other
status fails at once. A body larger than `max_bytes`, or shorter than its Content-Length, is refused.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import httpx

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504}) | frozenset(range(505, 600))
PAGE_MAX_BYTES = 10 * 1024 * 1024


class FetchError(Exception):
    """A request failed for good (after its retries, or at once for a non-retryable answer)."""


class _Retry(Exception):
    """One attempt failed in a way worth trying again."""

    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True)
class FetchPolicy:
    """How patient and how strict every request is."""

    user_agent: str
    timeout_seconds: float = 30.0
    attempts: int = 4
    backoff_seconds: float = 2.0
    max_wait_seconds: float = 120.0
    max_bytes: int = 100 * 1024 * 1024
    max_redirects: int = 5
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)


@dataclass(frozen=True)
class Validators:
    """What a server said identifies a version of a resource, sent back on the next GET."""

    etag: str | None = None
    last_modified: str | None = None

    def headers(self) -> dict[str, str]:
        out = {}
        if self.etag:
            out["If-None-Match"] = self.etag
        if self.last_modified:
            out["If-Modified-Since"] = self.last_modified
        return out


@dataclass
class Fetched:
    """The answer to one (conditional) GET: 304, or a body in memory or in a file."""

    url: str
    not_modified: bool
    validators: Validators
    attempts: int
    body: bytes = b""
    path: Path | None = None
    size: int = 0
    sha256: str = ""


def make_client(policy: FetchPolicy) -> httpx.Client:
    """An HTTP client that identifies itself, times out and follows a bounded number of redirects."""
    return httpx.Client(
        headers={"User-Agent": policy.user_agent},
        timeout=httpx.Timeout(policy.timeout_seconds),
        follow_redirects=True,
        max_redirects=policy.max_redirects,
    )


def fetch_page(client: httpx.Client, url: str, policy: FetchPolicy,
               validators: Validators | None = None) -> Fetched:
    """GET a page into memory (conditionally, when validators are given)."""

    def attempt() -> Fetched:
        sink = _Memory()
        result = _get(client, url, sink, min(policy.max_bytes, PAGE_MAX_BYTES), validators)
        result.body = sink.data()
        return result

    return _with_retries(policy, url, attempt)


def download(client: httpx.Client, url: str, destination: Path, policy: FetchPolicy,
             validators: Validators | None = None) -> Fetched:
    """GET a file to `destination` (written whole or not at all) and checksum it."""
    partial = destination.with_name(destination.name + ".part")

    def attempt() -> Fetched:
        with partial.open("wb") as handle:
            sink = _File(handle)
            result = _get(client, url, sink, policy.max_bytes, validators)
        if not result.not_modified:
            partial.replace(destination)
            result.path, result.sha256 = destination, sink.digest.hexdigest()
        return result

    try:
        return _with_retries(policy, url, attempt)
    finally:
        partial.unlink(missing_ok=True)


def _with_retries(policy: FetchPolicy, url: str, attempt: Callable[[], Fetched]) -> Fetched:
    for number in range(1, policy.attempts + 1):
        try:
            result = attempt()
        except _Retry as retry:
            if number == policy.attempts:
                tries = f"{number} attempts" if number > 1 else "1 attempt"
                raise FetchError(f"{retry.reason} from {url} ({tries})") from None
            policy.sleep(_wait(policy, number, retry.retry_after))
            continue
        result.attempts = number
        return result
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _wait(policy: FetchPolicy, number: int, retry_after: float | None) -> float:
    backoff = policy.backoff_seconds * 2 ** (number - 1) * random.uniform(0.5, 1.0)
    return min(policy.max_wait_seconds, max(backoff, retry_after or 0.0))


def _get(client: httpx.Client, url: str, sink: _Sink, max_bytes: int,
         validators: Validators | None) -> Fetched:
    headers = validators.headers() if validators else {}
    try:
        with client.stream("GET", url, headers=headers) as response:
            final_url = str(response.url)
            if response.status_code == 304:
                return Fetched(url=final_url, not_modified=True, attempts=0,
                               validators=validators or Validators())
            if response.status_code in RETRYABLE_STATUS:
                raise _Retry(f"HTTP {response.status_code}", _retry_after(response))
            if not 200 <= response.status_code < 300:
                raise FetchError(f"HTTP {response.status_code} from {final_url}")
            size = _receive(response, sink, max_bytes, final_url)
            return Fetched(url=final_url, not_modified=False, attempts=0, size=size,
                           validators=Validators(response.headers.get("ETag"),
                                                 response.headers.get("Last-Modified")))
    except httpx.TimeoutException:
        raise _Retry("timed out") from None
    except httpx.UnsupportedProtocol as exc:
        raise FetchError(f"cannot fetch {url}: {exc}") from None
    except httpx.TooManyRedirects:
        raise FetchError(f"more than {client.max_redirects} redirects from {url}") from None
    except httpx.RemoteProtocolError as exc:
        raise _Retry(f"connection broken ({exc})") from None
    except httpx.TransportError as exc:
        raise _Retry(f"network error ({type(exc).__name__}: {exc})") from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:  # a bad URL, an undecodable body
        raise FetchError(f"cannot fetch {url}: {exc}") from None


def _receive(response: httpx.Response, sink: _Sink, max_bytes: int, url: str) -> int:
    declared = response.headers.get("Content-Length")
    expected = int(declared) if declared and declared.isdigit() else None
    if expected is not None and expected > max_bytes:
        raise FetchError(f"{url} is {expected:,} bytes, over the limit of {max_bytes:,}")
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(f"{url} is over the limit of {max_bytes:,} bytes; download stopped")
        sink.write(chunk)
    received = response.num_bytes_downloaded  # bytes on the wire, as Content-Length counts them
    if expected is not None and received != expected:
        raise _Retry(f"truncated download: {received:,} of {expected:,} bytes")
    return size


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


class _Sink:
    def write(self, chunk: bytes) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class _Memory(_Sink):
    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, chunk: bytes) -> None:
        self.parts.append(chunk)

    def data(self) -> bytes:
        return b"".join(self.parts)


class _File(_Sink):
    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()

    def write(self, chunk: bytes) -> None:
        self.handle.write(chunk)
        self.digest.update(chunk)
