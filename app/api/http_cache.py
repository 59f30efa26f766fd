"""HTTP caching as its own layer: ETags, 304s and a cache of rendered JSON bodies.

Every GET answer depends only on the data version and the request (path, query, format), so its
ETag embeds the catalog's fingerprint. The middleware answers a matching `If-None-Match` with 304
and a cached body before any routing; otherwise it hands the catalog it read to the handler (one
data version per request) and, on the way out, adds the ETag and stores JSON bodies. Handlers know
nothing of it.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import anyio.to_thread
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.admission import holds_turn

CACHE_CONTROL = "public, max-age=60, stale-while-revalidate=300"
# An answer as of a vintage (as_of=) never changes: its releases are loaded for good.
IMMUTABLE_CACHE_CONTROL = "public, max-age=31536000, immutable"
# GET answers that depend only on the data version and the request.
CACHEABLE_PREFIXES = ("/seizures", "/encounters", "/overdose-deaths", "/drugs", "/areas",
                      "/releases", "/datasets", "/seizure-events", "/comparisons", "/claims",
                      "/revisions")
_STORED_HEADERS = {"content-type", "link", "x-total-count", "content-disposition"}
# A body this large is compressed in a thread (GZipMiddleware's own threshold, 128 KiB).
GZIP_IN_THREAD = 128 * 1024


@dataclass
class CachedBody:
    body: bytes
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    gzipped: bytes | None = None  # the body compressed, made at its first hit that accepts gzip


class ResponseCache:
    """Rendered JSON bodies keyed by ETag (which embeds the data version): never stale.

    Bounded by entries and by bytes, least recently used out first, so no query string can make
    a worker hold more than `max_bytes` of responses.

    It also keeps the misses being computed (single flight): a request for a body another request
    of the same worker is already computing waits for that one and shares its answer, so a burst
    of the same new URL runs its SQL once. Off with the cache (`max_entries` 0): then every
    request runs its own SQL, as benchmarks of the uncached path need.
    """

    def __init__(self, max_entries: int, max_bytes: int = 64_000_000, max_body: int = 2_000_000):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.max_body = max_body
        self.size = 0
        self._items: OrderedDict[str, CachedBody] = OrderedDict()
        self.pending: dict[str, asyncio.Future[CachedBody | None]] = {}

    def get(self, key: str) -> CachedBody | None:
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    def put(self, key: str, item: CachedBody) -> None:
        if self.max_entries <= 0 or len(item.body) > min(self.max_body, self.max_bytes):
            return
        old = self._items.pop(key, None)
        if old is not None:
            self.size -= _held(old)
        self._items[key] = item
        self.size += _held(item)
        self._evict()

    async def gzipped(self, key: str, item: CachedBody, level: int) -> bytes:
        """The body gzip-compressed, made once and kept with it (counted in the bound): a hit
        from a client that accepts gzip (a browser, curl --compressed, httpx) would otherwise
        compress the same bytes again every time, ~0.3 ms for 20 KB on a slow machine, about
        as much as the rest of a hit. A large body is compressed in a thread, as GZipMiddleware
        does; a copy that would not fit beside its body in the bound is not kept (it would
        evict its own entry)."""
        if item.gzipped is not None:
            return item.gzipped
        if len(item.body) >= GZIP_IN_THREAD:
            compressed = await anyio.to_thread.run_sync(
                functools.partial(gzip.compress, item.body, compresslevel=level, mtime=0))
        else:
            compressed = gzip.compress(item.body, compresslevel=level, mtime=0)
        if item.gzipped is None and _held(item) + len(compressed) <= self.max_bytes:
            item.gzipped = compressed
            if self._items.get(key) is item:
                self.size += len(compressed)
                self._evict()
        return compressed

    def _evict(self) -> None:
        while len(self._items) > self.max_entries or self.size > self.max_bytes:
            _, evicted = self._items.popitem(last=False)
            self.size -= _held(evicted)


def _held(item: CachedBody) -> int:
    return len(item.body) + (len(item.gzipped) if item.gzipped is not None else 0)


def fold_params(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Query parameters in order, a repeated name folded into one comma list."""
    merged: dict[str, list[str]] = {}
    for name, value in pairs:
        merged.setdefault(name, []).append(value)
    return [(name, ",".join(values)) for name, values in merged.items()]


def output_format(accept: str, params: dict[str, str]) -> tuple[str, bool]:
    """The format asked for, and whether by the `format` parameter (else by `Accept`)."""
    fmt = params.get("format")
    if fmt:
        return fmt.lower(), True
    if "text/csv" in accept and "application/json" not in accept:
        return "csv", False
    if "application/x-ndjson" in accept and "application/json" not in accept:
        return "ndjson", False
    return "json", False


def make_etag(fingerprint: str, path: str, params: list[tuple[str, str]], fmt: str) -> str:
    canonical = path + "?" + urlencode(sorted(params)) + "#" + fmt
    digest = hashlib.blake2b(canonical.encode(), digest_size=8).hexdigest()
    return f'W/"{fingerprint}-{digest}"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    # "*" is not a match here: a request is validated before anyone can say the resource exists.
    if not if_none_match or if_none_match.strip() == "*":
        return False
    opaque = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == opaque for tag in if_none_match.split(","))


# Every cacheable answer varies by Accept (JSON or CSV) and Accept-Encoding (a body of
# GZIP_MINIMUM bytes or more is sent gzip-compressed to a client that accepts it), and a 304 says
# what its 200 says (RFC 9110 15.4.5): so both name both, whatever the body's size. GZipMiddleware
# adds Accept-Encoding to Vary again; `GZip` below merges the names.
VARY = b"Accept, Accept-Encoding"


def cache_headers(etag: str, *, immutable: bool = False) -> list[tuple[bytes, bytes]]:
    control = IMMUTABLE_CACHE_CONTROL if immutable else CACHE_CONTROL
    return [(b"etag", etag.encode()), (b"cache-control", control.encode()), (b"vary", VARY)]


def merged_vary(headers: Sequence[tuple[bytes, bytes]]) -> Sequence[tuple[bytes, bytes]]:
    """The headers with every Vary merged into one naming each header once, in first-seen order
    (case-insensitive); unchanged when there is at most one Vary naming each once."""
    values = [v for k, v in headers if k.lower() == b"vary"]
    if not values:
        return headers
    names: dict[bytes, bytes] = {}
    for value in values:
        for name in value.split(b","):
            name = name.strip()
            if name:
                names.setdefault(name.lower(), name)
    merged = b", ".join(names.values())
    if len(values) == 1 and merged == values[0]:
        return headers
    out = [(k, v) for k, v in headers if k.lower() != b"vary"]
    out.append((b"vary", merged))
    return out


class GZip(GZipMiddleware):
    """Starlette's GZipMiddleware, whose added `Vary: Accept-Encoding` is merged with the Vary the
    answer already has (it appends the name again: `Accept, Accept-Encoding, Accept-Encoding`)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return

        async def send_merged(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", ())
                merged = merged_vary(headers)
                if merged is not headers:
                    message = {**message, "headers": merged}
            await send(message)

        await super().__call__(scope, receive, send_merged)


class HttpCache:
    """ASGI middleware: ETag, 304 and cached JSON bodies for every cacheable GET.

    A cached body of at least `gzip_minimum` bytes is sent to a client that accepts gzip
    compressed, from its kept compressed copy, as GZipMiddleware (outside, given the same
    minimum and level; it passes a body already encoded through) would send it: Content-Encoding
    gzip and Vary: Accept-Encoding."""

    def __init__(self, app: ASGIApp, *, gzip_minimum: int = 1000, gzip_level: int = 5) -> None:
        self.app = app
        self.gzip_minimum = gzip_minimum
        self.gzip_level = gzip_level

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["method"] != "GET"
                or not scope["path"].startswith(CACHEABLE_PREFIXES)):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        pairs = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        params = fold_params(pairs)
        try:
            catalog = await state.catalogs.get()
        except Exception:
            await self.app(scope, receive, send)
            return
        as_of = dict(pairs).get("as_of")  # the last value, as the handler reads it
        if as_of is not None:
            try:
                catalog = await state.catalogs.vintage(as_of)
            except Exception:
                # Not a vintage (the handler answers the 422) or no database: no cache entry.
                await self.app(scope, receive, send)
                return
        immutable = catalog.vintage is not None
        fmt, _ = output_format(headers.get("accept", ""), dict(pairs))  # the last value wins
        key = (scope["path"], params, fmt)
        etag = make_etag(catalog.fingerprint, *key)
        if_none_match = headers.get("if-none-match")
        star = (if_none_match or "").strip() == "*"
        if etag_matches(if_none_match, etag):
            await _send_simple(send, 304, cache_headers(etag, immutable=immutable), b"")
            return
        responses: ResponseCache = state.responses
        cached = responses.get(etag) if fmt == "json" else None
        if cached is None and fmt == "json" and etag in responses.pending and not holds_turn():
            # Another request is computing this body: share its answer (None: it was not a 200
            # that could be kept, so compute our own). Not a request made in process by one
            # holding its turn: the other may be queued for that very turn.
            waiting = scope.setdefault("state", {})
            waiting["waiting_behind"] = True
            try:
                cached = await asyncio.shield(responses.pending[etag])
            finally:
                waiting.pop("waiting_behind", None)
        if cached is not None:
            if star:  # a current representation exists: "*" matches it
                await _send_simple(send, 304, cache_headers(etag, immutable=immutable), b"")
            elif ("gzip" in headers.get("accept-encoding", "")
                  and len(cached.body) >= self.gzip_minimum):
                body = await responses.gzipped(etag, cached, self.gzip_level)
                await _send_simple(send, 200, [*cache_headers(etag, immutable=immutable),
                                               *cached.headers, (b"content-encoding", b"gzip")],
                                   body)
            else:
                await _send_simple(send, 200, [*cache_headers(etag, immutable=immutable),
                                               *cached.headers], cached.body)
            return
        scope.setdefault("state", {})["catalog"] = catalog
        tagging = _Tagging(scope, send, key, fmt == "json", star, state)
        if fmt != "json" or responses.max_entries <= 0 or etag in responses.pending:
            await self.app(scope, receive, tagging)
            return
        shared: asyncio.Future[CachedBody | None] = asyncio.get_running_loop().create_future()
        responses.pending[etag] = shared
        try:
            await self.app(scope, receive, tagging)
        finally:
            del responses.pending[etag]
            # The body kept for this ETag; None when the answer was not a whole 200 of it (an
            # error, a newer catalog, a cancelled request): the waiters then compute their own.
            shared.set_result(tagging.kept if tagging.etag == etag else None)


class _Tagging:
    """The handler's send, adding cache headers to a 200 and keeping its JSON body."""

    def __init__(self, scope: Scope, send: Send, key: tuple, store: bool, star: bool,
                 state: Any) -> None:
        self.scope, self.send, self.key = scope, send, key
        self.store, self.star, self.state = store, star, state
        self.status = 0
        self.etag = ""
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: list[bytes] = []
        self.kept: CachedBody | None = None

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            if self.status != 200:
                self.store = False
                await self.send(message)
                return
            # The handler may have moved to a newer catalog (a whole download re-reads it).
            catalog = self.scope["state"]["catalog"]
            self.etag = make_etag(catalog.fingerprint, *self.key)
            tags = cache_headers(self.etag, immutable=catalog.vintage is not None)
            if self.star:
                await _send_simple(self.send, 304, tags, b"")
                return
            self.headers = [(k, v) for k, v in message.get("headers", [])
                            if k.decode("latin-1").lower() in _STORED_HEADERS]
            await self.send({**message, "headers": [*message.get("headers", []), *tags]})
            return
        if self.star and self.status == 200:
            return  # answered 304 above
        if self.store and message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                self.kept = CachedBody(b"".join(self.chunks), self.headers)
                self.state.responses.put(self.etag, self.kept)
        await self.send(message)


async def _send_simple(send: Send, status: int, headers: list[tuple[bytes, bytes]],
                       body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
