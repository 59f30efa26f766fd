"""Turn a QueryResult into the JSON document or a streamed CSV; build the `meta` block."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from app.catalog import ReleaseInfo
from app.datasets import GRAIN_DESCRIPTIONS
from app.query import QueryResult

CSV_CHUNK_ROWS = 500


def release_summary(release: ReleaseInfo) -> dict[str, Any]:
    """How a release is cited in every response."""
    return {
        "id": release.id,
        "source": release.source,
        "title": release.title,
        "publisher": release.publisher,
        "file_name": release.file_name,
        "sha256": release.sha256,
        "period_start": _period(release, release.period_start),
        "period_end": _period(release, release.period_end),
        "loaded_at": release.loaded_at.isoformat() if release.loaded_at else None,
        "origin_url": release.origin_url,
    }


def _period(release: ReleaseInfo, value: Any) -> str:
    return str(value.year) if release.grain == "year" else f"{value:%Y-%m}"


def build_meta(result: QueryResult, *, data_version: int, next_url: str | None) -> dict[str, Any]:
    spec = result.spec
    dataset = spec.dataset
    filters: dict[str, Any] = dict(spec.understood)
    if dataset.time == "year":
        if spec.years:
            filters["year"] = list(spec.years)
        if spec.year_from:
            filters["from"] = spec.year_from
        if spec.year_to:
            filters["to"] = spec.year_to
        defaults = {"state": "US", "category": "total", "sex": "all"}
        for name, value in defaults.items():
            if name not in spec.filters and name not in spec.group_by:
                filters[name] = [value]
    else:
        filters.update(spec.period.describe())
    meta: dict[str, Any] = {
        "dataset": dataset.name,
        "filters": filters,
        "group_by": list(spec.group_by),
        "grain": spec.grain,
        "grain_definition": GRAIN_DESCRIPTIONS.get(spec.grain) if spec.grain else None,
        "measures": {m.name: {"unit": m.unit, "description": m.description}
                     for m in dataset.measures},
        "sort": [("-" if desc else "") + name for name, desc in spec.sort],
        "row_count": len(result.rows),
        "total_rows": result.total_rows,
        "limit": spec.limit,
        "offset": spec.offset,
        "next": next_url,
    }
    if dataset.sources and len(dataset.sources) > 1:
        meta["source"] = {"key": result.source.key, "title": result.source.title,
                          "exact": result.source.exact}
    if result.coverage:
        first, last = result.coverage
        if dataset.time == "year":
            meta["coverage"] = {"first_year": first.year, "last_year": last.year}
        else:
            meta["coverage"] = {"first_month": f"{first:%Y-%m}", "last_month": f"{last:%Y-%m}"}
    else:
        meta["coverage"] = None
    # The months (years) the figures actually add up: the request's, as far as the data go.
    meta["period"] = result.summed.document() if result.summed else None
    meta["complete"] = result.complete
    meta["releases"] = [release_summary(r) for r in result.releases]
    meta["caveats"] = result.caveats
    meta["data_version"] = data_version
    return meta


def json_body(data: Any, meta: dict[str, Any] | None = None) -> bytes:
    document = {"data": data, "meta": meta} if meta is not None else data
    return orjson.dumps(document, option=orjson.OPT_NON_STR_KEYS)


def csv_chunks(columns: list[str], rows: list[dict[str, Any]], *, bom: bool = False,
               header: bool = True) -> Iterator[bytes]:
    """RFC 4180 CSV (CRLF line ends, minimal quoting), yielded in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    if header:
        writer.writerow(columns)
    prefix = "\ufeff" if bom else ""
    for start in range(0, max(len(rows), 1), CSV_CHUNK_ROWS):
        for row in rows[start:start + CSV_CHUNK_ROWS]:
            writer.writerow([_csv_value(row.get(c)) for c in columns])
        chunk = prefix + buffer.getvalue()
        prefix = ""
        buffer.seek(0)
        buffer.truncate()
        if chunk:
            yield chunk.encode("utf-8")


@dataclass
class Pages:
    """Rows fetched page by page while a CSV download streams: the first page is in hand (it
    validated the request); `fetch(offset)` reads the next."""

    first: list[dict[str, Any]]
    page_size: int
    fetch: Callable[[int], Awaitable[list[dict[str, Any]]]]


async def csv_pages(columns: list[str], pages: Pages, *, bom: bool = False) -> AsyncIterator[bytes]:
    rows, offset, header = pages.first, 0, True
    while True:
        for chunk in csv_chunks(columns, rows, bom=bom and header, header=header):
            yield chunk
        header = False
        if len(rows) < pages.page_size:
            return
        offset += pages.page_size
        rows = await pages.fetch(offset)
        if not rows:
            return


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if value != int(value) else f"{value:.1f}"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict):
        return " | ".join(f"{k}: {_csv_value(v)}" for k, v in value.items())
    return value


def csv_filename(dataset: str, params: list[tuple[str, str]]) -> str:
    """A descriptive, safe file name: seizures_drug-fentanyl_fiscal_year-2021.csv."""
    parts = [dataset]
    for name, value in params:
        if name in {"format", "bom", "limit", "offset", "sort"}:
            continue
        parts.append(f"{name}-{value}")
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", "_".join(parts)).strip("-")[:120]
    return f"{stem or dataset}.csv"
