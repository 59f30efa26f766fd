"""GET /revisions: the figures a newer release changed, with both values, JSON or CSV."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import Field, create_model

from app.api.deps import ContextDep
from app.api.examples import example_responses
from app.api.params import (
    MAX_OFFSET,
    Limit,
    Offset,
    VintageParams,
    dimension_fields,
    time_fields,
)
from app.api.schemas.vintages import RevisionsDocument
from app.datasets import DATASETS
from app.errors import InvalidParameter
from app.periods import month_text
from app.query import revisions as history
from app.query.parse import resolve_filters
from app.query.spec import MAX_LIMIT
from app.render.formats import Document, render
from app.render.meta import release_summary, version_meta

router = APIRouter(tags=["releases"])
CONTROL = ("dataset", "release", "limit", "offset", "format", "bom", "as_of")
DEFAULT_LIMIT = 1000
CHANGE_HELP = {
    "revised": "both releases publish the cell and its value changed",
    "appeared": "only the newer release publishes the cell in a month it took over (older_value "
                "null)",
    "disappeared": "the older release published the cell, the newer one, which now answers for "
                   "the whole month, does not (newer_value null): the API no longer serves it",
}


def _filter_fields() -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for dataset in DATASETS.values():
        for name, spec in {**dimension_fields(dataset, role="Filter, as on the dataset's own "
                                              "endpoint"), **time_fields(dataset)}.items():
            fields.setdefault(name, spec)
        if len(dataset.families) > 1:
            keys = ", ".join(f"`{f.key}`" for f in dataset.families)
            fields["source"] = (str | None, Field(None, description=f"Only this release family: "
                                                  f"{keys}."))
    return fields


RevisionParams = create_model(
    "RevisionParams", __base__=VintageParams,
    dataset=(Literal[tuple(DATASETS)], Field(description="The dataset.", examples=["seizures"])),
    release=(str | None, Field(None, description="Only the changes this release made (the newer "
                               "release id; the ingest's summary line links here).",
                               examples=["3"])),
    limit=(Limit, Field(DEFAULT_LIMIT, description=f"Rows per page (1 to {MAX_LIMIT:,}).")),
    offset=(Offset, Field(0, description=f"Rows to skip (up to {MAX_OFFSET:,}); `meta.next` "
                          "links to the next page.")),
    **_filter_fields(),
)


@router.get("/revisions", summary="What newer releases changed",
            response_model=RevisionsDocument, responses=example_responses("/revisions"))
async def get_revisions(params: Annotated[RevisionParams, Query()], ctx: ContextDep) -> Response:
    """Every figure a newer release revised: per dataset, month (year) and cell, one row per
    measure with the value in the older and in the newer release, the difference and both
    release ids. `change` is `revised`, `appeared` (only the newer release has the cell in a
    month it took over: `older_value` null) or `disappeared` (`newer_value` null). A release
    takes over a month when it ranks higher (its data run later); values equal within 1e-6
    (or 1e-9 relative; one CBP release rounds pounds) are not revisions. Filters are the data
    endpoints' (`drug=fentanyl&from=2025-10`); `release=` keeps the changes one release made;
    `as_of=` shows the revisions known then. `meta.compared` lists each handover (family, older
    and newer release, months). Example: `/revisions?dataset=encounters&fiscal_year=2022`."""
    catalog = await ctx.catalog()
    dataset = DATASETS[params.dataset]
    raw = params.model_dump(by_alias=True, exclude_none=True, exclude_unset=True)
    filters = {k: (",".join(v) if isinstance(v, list) else str(v)) for k, v in raw.items()
               if k not in CONTROL}
    spec = resolve_filters(dataset, filters, catalog)
    release = _release(params.release, dataset.name, catalog)
    async with ctx.engine.connect() as conn:
        found = await history.run_revisions(conn, spec, catalog, release=release)
    rows = found.rows[params.offset:params.offset + params.limit]
    link = ctx.page.next_url(params.offset, params.limit, len(rows), len(found.rows))
    shown = {f.param: list(f.shown) for f in spec.filters.values()}
    shown.update(dataset.time.describe(spec.period))
    if spec.family:
        shown["source"] = spec.family
    meta = {
        "dataset": dataset.name, "filters": shown, "release": release,
        "row_count": len(rows), "total_rows": len(found.rows), "limit": params.limit,
        "offset": params.offset, "next": link,
        "compared": [{"source": t.key, "older_release": t.older, "newer_release": t.newer,
                      "periods": [_period(dataset, p) for p in t.periods]}
                     for t in found.transitions],
        "change": CHANGE_HELP,
        "releases": [release_summary(r) for r in found.releases],
        **version_meta(catalog, ctx.page.permalink(catalog)),
    }
    return render(Document(rows, meta, found.columns, ctx.page.download_name), ctx.output)


def _release(text: str | None, dataset: str, catalog: Any) -> int | None:
    if text is None:
        return None
    ids = [r.id for r in catalog.releases if r.dataset == dataset]
    value = text.strip()
    if not value.isdigit() or int(value) not in ids:
        raise InvalidParameter("release", text, f"release must be the id of a loaded {dataset} "
                               "release (see /releases)", [str(i) for i in ids])
    return int(value)


def _period(dataset: Any, period: Any) -> Any:
    return period.year if dataset.time.unit == "year" else month_text(period)

