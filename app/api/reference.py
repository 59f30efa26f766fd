"""Reference endpoints: /drugs, /areas, /releases, /datasets, /seizure-events."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import ConfigDict, Field

from app import reference_queries
from app.api.examples import example_responses
from app.api.query_models import OutputParams
from app.api.respond import Document, cached_json
from app.catalog import Catalog
from app.params import parse_query

router = APIRouter(tags=["reference"])


class NoParams(OutputParams):
    model_config = ConfigDict(extra="forbid")


class AreaParams(OutputParams):
    model_config = ConfigDict(extra="forbid")

    state: str | None = Field(None, description="Comma list of states (code or name): areas "
                              "covering any of them.", examples=["TX"])
    kind: Literal["field_office", "sector"] | None = Field(
        None, description="`field_office` (OFO, ports of entry) or `sector` (Border Patrol).")
    component: str | None = Field(None, description="`ofo` or `usbp`.")
    region: str | None = Field(None, description="`southwest`, `northern` or `coastal-interior`.")


class ReleaseParams(OutputParams):
    model_config = ConfigDict(extra="forbid")

    dataset: Literal["seizures", "encounters", "overdose_deaths"] | None = Field(
        None, description="Only releases of this dataset.")


class EventParams(OutputParams):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    port: str | None = Field(None, description="Port of entry name (case-insensitive, partial "
                             "match), e.g. `nogales`.")
    state: str | None = Field(None, description="Comma list of states, code or name.")
    drug: str | None = Field(None, description="Comma list of drugs (slug, name or alias).")
    from_: dt.date | None = Field(None, alias="from", description="Earliest date, YYYY-MM-DD.")
    to: dt.date | None = Field(None, description="Latest date, YYYY-MM-DD.")


@router.get("/drugs", summary="Drug types", responses=example_responses("/drugs"))
async def get_drugs(request: Request, params: Annotated[NoParams, Query()]) -> Response:
    """Every drug type in the seizure data: slug, display name, CBP's own name and aliases."""

    async def build(catalog: Catalog, _params: dict[str, str]):
        rows = [{"slug": d.slug, "name": d.name, "source_name": d.source_name,
                 "aliases": list(d.aliases)} for d in catalog.drugs]
        return Document(rows, {"row_count": len(rows)}, ["slug", "name", "source_name", "aliases"])

    return await cached_json(request, build)


@router.get("/areas", summary="Areas of responsibility", responses=example_responses("/areas"))
async def get_areas(request: Request, params: Annotated[AreaParams, Query()]) -> Response:
    """Field offices (ports of entry) and Border Patrol sectors with their component, region
    and states. `state_basis` says whether `states` is the area's whole coverage or only the
    state of its headquarters; `ports_of_entry` lists the land ports a Southwest field office
    counts (CBP publishes figures per field office, not per port). The region is the data's own
    label where the data name the area."""

    async def build(catalog: Catalog, raw: dict[str, str]):
        rows = reference_queries.areas(catalog, _area_filters(catalog, raw))
        columns = ["slug", "name", "kind", "component", "region", "states", "state_basis",
                   "abbreviation", "aliases", "ports_of_entry", "note"]
        shown = {k: v for k, v in raw.items() if k in {"state", "kind", "component", "region"}}
        return Document(rows, {"row_count": len(rows), "filters": shown}, columns)

    return await cached_json(request, build)


def _area_filters(catalog: Catalog, raw: dict[str, str]) -> dict[str, Any]:
    # Reuse the data filters' parsing so `state`, `component` and `region` mean the same here.
    wanted = {k: raw[k] for k in ("state", "component", "region") if k in raw}
    spec = parse_query("seizures", wanted, catalog) if wanted else None
    out: dict[str, Any] = dict(spec.filters) if spec else {}
    if "kind" in raw:
        out["kind"] = raw["kind"]
    return out


@router.get("/releases", summary="Loaded releases (data versions)",
            responses=example_responses("/releases"))
async def get_releases(request: Request, params: Annotated[ReleaseParams, Query()]) -> Response:
    """Every official file loaded: dataset, file, checksum, period covered, when loaded, and
    what it did to earlier releases (months new, revised, unchanged, or superseded by a newer
    release), with the months it revised and the months it currently answers for."""

    async def build(catalog: Catalog, raw: dict[str, str]):
        rows = reference_queries.releases(catalog, raw.get("dataset"))
        columns = ["id", "dataset", "source", "title", "file_name", "sha256", "row_count",
                   "period_start", "period_end", "loaded_at", "periods_new", "periods_revised",
                   "periods_unchanged", "periods_superseded", "current_periods", "origin_url"]
        return Document(rows, {"row_count": len(rows), "data_version": catalog.version}, columns)

    return await cached_json(request, build)


@router.get("/datasets", summary="Datasets: measures, dimensions, grains, coverage",
            responses=example_responses("/datasets"))
async def get_datasets(request: Request, params: Annotated[NoParams, Query()]) -> Response:
    """What each data endpoint offers: measures with units, dimensions with their accepted
    values, time grains, the release families (sources) with the dimensions each carries, and
    the months or years each currently covers."""

    async def build(catalog: Catalog, _raw: dict[str, str]):
        rows = reference_queries.datasets(catalog)
        return Document(rows, {"row_count": len(rows), "data_version": catalog.version}, None)

    return await cached_json(request, build)


@router.get("/seizure-events", summary="Port-level seizure events from the article",
            responses=example_responses("/seizure-events"))
async def get_seizure_events(request: Request, params: Annotated[EventParams, Query()]) -> Response:
    """Single seizures reported at named ports (from the CBP statements the article cites):
    place, port of entry, state, date (and its precision), drug, pounds, reported value and
    source. They are events, not statistics, and enter no aggregate."""

    async def build(catalog: Catalog, raw: dict[str, str]):
        filters = reference_queries.event_filters(catalog, raw)
        async with request.app.state.engine.connect() as conn:
            rows = await reference_queries.seizure_events(conn, catalog, filters)
        columns = ["slug", "event_date", "date_precision", "place", "port_of_entry", "area",
                   "state", "drug", "quantity_lbs", "quantity_qualifier", "reported_value_usd",
                   "value_qualifier", "description", "source", "source_url"]
        return Document(rows, {"row_count": len(rows), "filters": raw}, columns)

    return await cached_json(request, build)
