"""The one response path for data endpoints: ETag, 304, cache, query, JSON or streamed CSV."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.responses import StreamingResponse

from app import query
from app.catalog import Catalog, CatalogCache
from app.params import parse_query
from app.render import build_meta, csv_chunks, csv_filename, json_body

CACHE_CONTROL = "public, max-age=60, stale-while-revalidate=300"
OUTPUT_PARAMS = {"format", "bom"}


@dataclass
class CachedBody:
    body: bytes
    media_type: str


class ResponseCache:
    """Rendered JSON bodies keyed by ETag (which embeds the data version): never stale."""

    def __init__(self, max_entries: int, max_body: int = 2_000_000):
        self.max_entries = max_entries
        self.max_body = max_body
        self._items: OrderedDict[str, CachedBody] = OrderedDict()

    def get(self, key: str) -> CachedBody | None:
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    def put(self, key: str, item: CachedBody) -> None:
        if self.max_entries <= 0 or len(item.body) > self.max_body:
            return
        self._items[key] = item
        self._items.move_to_end(key)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)


def query_items(request: Request) -> list[tuple[str, str]]:
    """Query parameters in order, a repeated name folded into one comma list."""
    merged: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        merged.setdefault(name, []).append(value)
    return [(name, ",".join(values)) for name, values in merged.items()]


def wants_csv(request: Request, params: dict[str, str]) -> bool:
    fmt = params.get("format")
    if fmt:
        return fmt.lower() == "csv"
    accept = request.headers.get("accept", "")
    return "text/csv" in accept and "application/json" not in accept


def make_etag(catalog: Catalog, request: Request, params: list[tuple[str, str]], csv: bool) -> str:
    canonical = request.url.path + "?" + urlencode(sorted(params)) + ("#csv" if csv else "#json")
    digest = hashlib.blake2b(canonical.encode(), digest_size=8).hexdigest()
    return f'W/"{catalog.fingerprint}-{digest}"'


def etag_matches(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if not header:
        return False
    if header.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == opaque for tag in header.split(","))


def cache_headers(etag: str) -> dict[str, str]:
    return {"ETag": etag, "Cache-Control": CACHE_CONTROL, "Vary": "Accept, Accept-Encoding"}


Builder = Callable[[Catalog, dict[str, str]], Awaitable[tuple[Any, dict[str, Any], list[str]]]]


async def cached_json(request: Request, build: Builder) -> Response:
    """Serve a JSON document that depends only on the data version and the query string.

    `build(catalog, params)` returns (data, meta, csv_columns); CSV is offered when columns are
    given and the data is a list of rows.
    """
    state = request.app.state
    params_list = query_items(request)
    params = dict(params_list)
    catalogs: CatalogCache = state.catalogs
    catalog = await catalogs.get()
    as_csv = wants_csv(request, params)
    etag = make_etag(catalog, request, params_list, as_csv)
    headers = cache_headers(etag)
    if etag_matches(request, etag):
        return Response(status_code=304, headers=headers)
    if not as_csv:
        hit = state.responses.get(etag)
        if hit is not None:
            return Response(hit.body, media_type=hit.media_type, headers=headers)
    data, meta, columns = await build(catalog, params)
    if as_csv and columns:
        return csv_response(request, data, columns, params_list, headers)
    body = json_body(data, meta)
    state.responses.put(etag, CachedBody(body, "application/json"))
    return Response(body, media_type="application/json", headers=headers)


def csv_response(request: Request, rows: list[dict[str, Any]], columns: list[str],
                 params_list: list[tuple[str, str]], headers: dict[str, str]) -> Response:
    params = dict(params_list)
    bom = params.get("bom", "").lower() in {"1", "true", "yes"}
    name = csv_filename(request.url.path.strip("/").replace("/", "_") or "data", params_list)
    headers = {**headers, "Content-Disposition": f'attachment; filename="{name}"'}
    return StreamingResponse(csv_chunks(columns, rows, bom=bom),
                             media_type="text/csv; charset=utf-8", headers=headers)


def next_link(request: Request, offset: int, limit: int, shown: int, total: int) -> str | None:
    if offset + shown >= total or shown == 0:
        return None
    items = [(k, v) for k, v in query_items(request) if k != "offset"]
    items.append(("offset", str(offset + limit)))
    return f"{request.url.path}?{urlencode(items)}"


async def data_response(request: Request, dataset: str) -> Response:
    """GET /seizures, /encounters, /overdose-deaths."""

    async def build(catalog: Catalog, params: dict[str, str]):  # noqa: ANN202
        raw = {k: v for k, v in params.items() if k not in OUTPUT_PARAMS}
        spec = parse_query(dataset, raw, catalog)
        async with request.app.state.engine.connect() as conn:
            result = await query.run(conn, spec, catalog)
        link = next_link(request, spec.offset, spec.limit, len(result.rows), result.total_rows)
        meta = build_meta(result, data_version=catalog.version, next_url=link)
        return result.rows, meta, result.columns

    return await cached_json(request, build)
