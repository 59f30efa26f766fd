"""Reference endpoints: /drugs, /areas, /releases, /datasets, /seizure-events."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import Field

from app.api.deps import ContextDep
from app.api.direct import DirectRoute
from app.api.examples import example_responses
from app.api.params import OutputParams
from app.api.schemas import reference as schemas
from app.datasets import DATASETS
from app.query.catalog import Catalog
from app.query.parse import resolve_filters
from app.reference import listings
from app.render.formats import Document, render

router = APIRouter(tags=["reference"], route_class=DirectRoute)

AREA_COLUMNS = ["slug", "name", "kind", "component", "region", "states", "state_basis",
                "abbreviation", "aliases", "ports_of_entry", "note"]
RELEASE_COLUMNS = ["id", "dataset", "source", "title", "file_name", "sha256", "row_count",
                   "period_start", "period_end", "loaded_at", "periods_new", "periods_revised",
                   "periods_unchanged", "periods_superseded", "current_periods", "origin_url"]
EVENT_COLUMNS = ["slug", "event_date", "date_precision", "place", "port_of_entry", "area", "state",
                 "drug", "quantity_lbs", "quantity_qualifier", "reported_value_usd",
                 "value_qualifier", "description", "source", "source_url"]


class NoParams(OutputParams):
    pass


class AreaParams(OutputParams):
    state: str | None = Field(None, description="Comma list of states (code or name): areas "
                              "covering any of them.", examples=["TX"])
    kind: Literal["field_office", "sector"] | None = Field(
        None, description="`field_office` (OFO, ports of entry) or `sector` (Border Patrol).")
    component: str | None = Field(None, description="`ofo` or `usbp`.")
    region: str | None = Field(None, description="`southwest`, `northern` or `coastal-interior`.")


class ReleaseParams(OutputParams):
    dataset: Literal[tuple(DATASETS)] | None = Field(  # type: ignore[valid-type]
        None, description="Only releases of this dataset.")


class EventParams(OutputParams):
    port: str | None = Field(None, description="Comma list of ports of entry by name or crossing "
                             "(see each field office's `ports_of_entry` in /areas), e.g. `nogales`.")
    state: str | None = Field(None, description="Comma list of states, code or name.")
    drug: str | None = Field(None, description="Comma list of drugs (slug, name or alias).")
    from_: dt.date | None = Field(None, alias="from", description="Earliest date, YYYY-MM-DD.")
    to: dt.date | None = Field(None, description="Latest date, YYYY-MM-DD.")


@router.get("/drugs", summary="Drug types", response_model=schemas.DrugsDocument,
            responses=example_responses("/drugs"))
async def get_drugs(params: Annotated[NoParams, Query()], ctx: ContextDep) -> Response:
    """Every drug type in the seizure data: slug, display name, CBP's own name and aliases."""
    catalog = await ctx.catalog()
    rows = [{"slug": d.slug, "name": d.name, "source_name": d.source_name,
             "aliases": list(d.aliases)} for d in catalog.drugs]
    return render(Document(rows, {"row_count": len(rows)}, ["slug", "name", "source_name", "aliases"],
                           ctx.page.download_name), ctx.output)


@router.get("/areas", summary="Areas of responsibility", response_model=schemas.AreasDocument,
            responses=example_responses("/areas"))
async def get_areas(params: Annotated[AreaParams, Query()], ctx: ContextDep) -> Response:
    """Field offices (ports of entry) and Border Patrol sectors with their component, region
    and states. `state_basis` says whether `states` is the area's whole coverage or only the
    state of its headquarters; `ports_of_entry` lists the land ports a Southwest field office
    counts (CBP publishes figures per field office, not per port). The region is the data's own
    label where the data name the area."""
    raw = params.model_dump(by_alias=True, exclude_none=True, exclude={"format", "bom"})
    catalog = await ctx.catalog()
    rows = listings.areas(catalog, _area_filters(catalog, raw))
    return render(Document(rows, {"row_count": len(rows), "filters": raw}, AREA_COLUMNS,
                           ctx.page.download_name), ctx.output)


def _area_filters(catalog: Catalog, raw: dict[str, str]) -> dict[str, Any]:
    # The data filters' parsing, so `state`, `component` and `region` mean the same here.
    wanted = {k: raw[k] for k in ("state", "component", "region") if k in raw}
    spec = resolve_filters(DATASETS["seizures"], wanted, catalog) if wanted else None
    out: dict[str, Any] = {dim: f.values for dim, f in spec.filters.items()} if spec else {}
    if "kind" in raw:
        out["kind"] = raw["kind"]
    return out


@router.get("/releases", summary="Loaded releases (data versions)",
            response_model=schemas.ReleasesDocument,
            responses=example_responses("/releases"))
async def get_releases(params: Annotated[ReleaseParams, Query()], ctx: ContextDep) -> Response:
    """Every official file loaded: dataset, file, checksum, period covered, when loaded, and
    what it did to earlier releases (months new, revised, unchanged, or superseded by a newer
    release), with the months it revised and the months it currently answers for."""
    catalog = await ctx.catalog()
    rows = listings.releases(catalog, params.dataset)
    return render(Document(rows, {"row_count": len(rows), "data_version": catalog.version},
                           RELEASE_COLUMNS, ctx.page.download_name), ctx.output)


@router.get("/datasets", summary="Datasets: measures, dimensions, grains, coverage",
            response_model=schemas.DatasetsDocument,
            responses=example_responses("/datasets"))
async def get_datasets(params: Annotated[NoParams, Query()], ctx: ContextDep) -> Response:
    """What each data endpoint offers: measures with units, dimensions with their accepted
    values, time grains, the release families (sources) with the dimensions and values each
    carries, and the months or years each currently covers."""
    catalog = await ctx.catalog()
    rows = listings.datasets(catalog)
    return render(Document(rows, {"row_count": len(rows), "data_version": catalog.version}),
                  ctx.output)


@router.get("/seizure-events", summary="Port-level seizure events from the article",
            response_model=schemas.SeizureEventsDocument,
            responses=example_responses("/seizure-events"))
async def get_seizure_events(params: Annotated[EventParams, Query()], ctx: ContextDep) -> Response:
    """Single seizures reported at named ports (from the CBP statements the article cites):
    place, port of entry, state, date (and its precision), drug, pounds, reported value and
    source. They are events, not statistics, and enter no aggregate."""
    raw = {k: str(v) for k, v in params.model_dump(by_alias=True, exclude_none=True,
                                                   exclude={"format", "bom"}).items()}
    catalog = await ctx.catalog()
    filters = listings.event_filters(catalog, raw)
    async with ctx.engine.connect() as conn:
        rows = await listings.seizure_events(conn, catalog, filters)
    return render(Document(rows, {"row_count": len(rows), "filters": raw}, EVENT_COLUMNS,
                           ctx.page.download_name), ctx.output)
