"""The one response path for data endpoints: ETag, 304, cache, query, JSON or streamed CSV."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import Request, Response
from fastapi.responses import StreamingResponse

from app import query
from app.catalog import Catalog, CatalogCache
from app.errors import InvalidParameter
from app.params import MAX_LIMIT, parse_query
from app.render import Pages, build_meta, csv_chunks, csv_filename, csv_pages, json_body

CACHE_CONTROL = "public, max-age=60, stale-while-revalidate=300"
# Paths whose GET answers depend only on the data version and the query string.
CACHEABLE_PREFIXES = ("/seizures", "/encounters", "/overdose-deaths", "/drugs", "/areas",
                      "/releases", "/datasets", "/seizure-events", "/comparisons", "/claims")
OUTPUT_PARAMS = {"format", "bom"}


@dataclass
class CachedBody:
    body: bytes
    media_type: str
    headers: dict[str, str] = field(default_factory=dict)


class ResponseCache:
    """Rendered JSON bodies keyed by ETag (which embeds the data version): never stale.

    Bounded by entries and by bytes, least recently used out first, so no query string can make
    a worker hold more than `max_bytes` of responses.
    """

    def __init__(self, max_entries: int, max_bytes: int = 64_000_000, max_body: int = 2_000_000):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.max_body = max_body
        self.size = 0
        self._items: OrderedDict[str, CachedBody] = OrderedDict()

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
            self.size -= len(old.body)
        self._items[key] = item
        self.size += len(item.body)
        while len(self._items) > self.max_entries or self.size > self.max_bytes:
            _, evicted = self._items.popitem(last=False)
            self.size -= len(evicted.body)


def fold_params(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Query parameters in order, a repeated name folded into one comma list."""
    merged: dict[str, list[str]] = {}
    for name, value in pairs:
        merged.setdefault(name, []).append(value)
    return [(name, ",".join(values)) for name, values in merged.items()]


def query_items(request: Request) -> list[tuple[str, str]]:
    return fold_params(request.query_params.multi_items())


def wants_csv(accept: str, params: dict[str, str]) -> bool:
    fmt = params.get("format")
    if fmt:
        return fmt.lower() == "csv"
    return "text/csv" in accept and "application/json" not in accept


def make_etag(fingerprint: str, path: str, params: list[tuple[str, str]], csv: bool) -> str:
    canonical = path + "?" + urlencode(sorted(params)) + ("#csv" if csv else "#json")
    digest = hashlib.blake2b(canonical.encode(), digest_size=8).hexdigest()
    return f'W/"{fingerprint}-{digest}"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    # "*" is not honoured: a GET is validated before anyone can say the resource exists.
    if not if_none_match or if_none_match.strip() == "*":
        return False
    opaque = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == opaque for tag in if_none_match.split(","))


def cache_headers(etag: str) -> dict[str, str]:
    # GZipMiddleware adds Accept-Encoding to Vary itself when it compresses.
    return {"ETag": etag, "Cache-Control": CACHE_CONTROL, "Vary": "Accept"}


@dataclass
class Lookup:
    """What the cache knows about a GET before any handler runs."""

    catalog: Catalog
    etag: str
    headers: dict[str, str]
    as_csv: bool
    not_modified: bool
    cached: CachedBody | None


async def lookup(state: Any, path: str, params: list[tuple[str, str]], accept: str,
                 if_none_match: str | None) -> Lookup:
    """ETag, 304 and cache decision for a request (shared by the fast path and the handlers)."""
    catalogs: CatalogCache = state.catalogs
    catalog = await catalogs.get()
    as_csv = wants_csv(accept, dict(params))
    etag = make_etag(catalog.fingerprint, path, params, as_csv)
    not_modified = etag_matches(if_none_match, etag)
    cached = None if (as_csv or not_modified) else state.responses.get(etag)
    return Lookup(catalog, etag, cache_headers(etag), as_csv, not_modified, cached)


@dataclass
class Document:
    """What an endpoint builds: the data, its meta, and the CSV columns when rows are flat."""

    data: Any
    meta: dict[str, Any] | None
    csv_columns: list[str] | None = None


Builder = Callable[[Catalog, dict[str, str]], Awaitable[Document]]


async def cached_json(request: Request, build: Builder) -> Response:
    """Serve a document that depends only on the data version and the query string.

    `build(catalog, params)` returns a Document; CSV is offered when it names csv_columns.
    """
    state = request.app.state
    params_list = query_items(request)
    # The fast path already looked this request up (and read the data version): reuse that.
    found: Lookup | None = getattr(request.state, "lookup", None)
    if found is None:
        found = await lookup(state, request.url.path, params_list,
                             request.headers.get("accept", ""), request.headers.get("if-none-match"))
    # "If-None-Match: *" matches any current representation: one that exists is valid, so the
    # answer is 304 once the request has been cached or built without error.
    star = (request.headers.get("if-none-match") or "").strip() == "*"
    if found.not_modified:
        return Response(status_code=304, headers=found.headers)
    if found.cached is not None:
        if star:
            return Response(status_code=304, headers=found.headers)
        return Response(found.cached.body, media_type=found.cached.media_type,
                        headers={**found.headers, **found.cached.headers})
    params = dict(params_list)
    if found.as_csv:
        params["format"] = "csv"
    document = await build(found.catalog, params)
    data, meta, columns = document.data, document.meta, document.csv_columns
    headers = {**found.headers, **paging_headers(meta)}
    if star:
        return Response(status_code=304, headers=found.headers)
    if found.as_csv and not columns:
        if "format" in dict(params_list):
            raise InvalidParameter("format", "csv", f"{request.url.path} answers in JSON only "
                                   "(its rows are nested)", ["json"])
        return Response(json_body(data, meta), media_type="application/json")  # Accept: text/csv
    if found.as_csv and columns:
        return csv_response(request, data, columns, params_list, headers)
    body = json_body(data, meta)
    state.responses.put(found.etag, CachedBody(body, "application/json", paging_headers(meta)))
    return Response(body, media_type="application/json", headers=headers)


def paging_headers(meta: dict[str, Any] | None) -> dict[str, str]:
    """RFC 8288 `Link: rel=next` and the total row count, for clients that read headers (CSV)."""
    headers: dict[str, str] = {}
    if not meta:
        return headers
    if meta.get("next"):
        headers["Link"] = f'<{meta["next"]}>; rel="next"'
    if isinstance(meta.get("total_rows"), int):
        headers["X-Total-Count"] = str(meta["total_rows"])
    return headers


class CachedResponses:
    """ASGI fast path: answer a GET from the response cache (or with a 304) before routing.

    Only bodies a handler has rendered for a valid request are ever cached, under an ETag that
    embeds the data version, so the fast path serves nothing the handler would not.
    """

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if (scope["type"] != "http" or scope["method"] != "GET"
                or not scope["path"].startswith(CACHEABLE_PREFIXES)):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        params = fold_params(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
        try:
            found = await lookup(scope["app"].state, scope["path"], params,
                                 headers.get("accept", ""), headers.get("if-none-match"))
        except Exception:
            await self.app(scope, receive, send)
            return
        if found.not_modified:
            await self._send(send, 304, found.headers, b"", None)
        elif found.cached is not None and (headers.get("if-none-match") or "").strip() != "*":
            await self._send(send, 200, {**found.headers, **found.cached.headers},
                             found.cached.body, found.cached.media_type)
        else:
            scope.setdefault("state", {})["lookup"] = found
            await self.app(scope, receive, send)

    @staticmethod
    async def _send(send: Any, status: int, headers: dict[str, str], body: bytes,
                    media_type: str | None) -> None:
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        if media_type:
            raw.append((b"content-type", media_type.encode("latin-1")))
        raw.append((b"content-length", str(len(body)).encode("latin-1")))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})


def csv_response(request: Request, rows: list[dict[str, Any]] | Pages, columns: list[str],
                 params_list: list[tuple[str, str]], headers: dict[str, str]) -> Response:
    params = dict(params_list)
    bom = params.get("bom", "").lower() in {"1", "true", "yes"}
    name = csv_filename(request.url.path.strip("/").replace("/", "_") or "data", params_list)
    headers = {**headers, "Content-Disposition": f'attachment; filename="{name}"'}
    body = (csv_pages(columns, rows, bom=bom) if isinstance(rows, Pages)
            else csv_chunks(columns, rows, bom=bom))
    return StreamingResponse(body, media_type="text/csv; charset=utf-8", headers=headers)


def next_link(request: Request, offset: int, limit: int, shown: int, total: int) -> str | None:
    if offset + shown >= total or shown == 0:
        return None
    items = [(k, v) for k, v in query_items(request) if k != "offset"]
    items.append(("offset", str(offset + limit)))
    return f"{request.url.path}?{urlencode(items)}"


async def data_response(request: Request, dataset: str) -> Response:
    """GET /seizures, /encounters, /overdose-deaths."""
    engine = request.app.state.engine

    async def build(catalog: Catalog, params: dict[str, str]):
        raw = {k: v for k, v in params.items() if k not in OUTPUT_PARAMS}
        download = params.get("format") == "csv" and "limit" not in raw and "offset" not in raw
        if download:
            raw["limit"] = str(MAX_LIMIT)  # a whole download streams in pages of this size
        spec = parse_query(dataset, raw, catalog)
        async with engine.connect() as conn:
            result = await query.run(conn, spec, catalog)
        link = next_link(request, spec.offset, spec.limit, len(result.rows), result.total_rows)
        meta = build_meta(result, data_version=catalog.version, next_url=link)
        if not download or len(result.rows) < spec.limit:
            return Document(result.rows, meta, result.columns)

        async def fetch(offset: int) -> list[dict[str, Any]]:
            async with engine.connect() as conn:
                page = await query.run(conn, replace(spec, offset=offset), catalog)
            return page.rows

        meta["next"] = None  # the download holds every row
        return Document(Pages(result.rows, spec.limit, fetch), meta, result.columns)

    return await cached_json(request, build)
