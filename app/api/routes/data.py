"""GET /seizures, /encounters, /overdose-deaths: aggregated figures, JSON, CSV or NDJSON."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.api.deps import ContextDep
from app.api.direct import DirectRoute
from app.api.examples import example_responses
from app.api.params import DATA_MODELS
from app.api.schemas.data import DATA_DOCUMENTS
from app.api.services import data_document
from app.render.formats import render

router = APIRouter(tags=["data"], route_class=DirectRoute)
SeizureParams = DATA_MODELS["seizures"]
EncounterParams = DATA_MODELS["encounters"]
DeathParams = DATA_MODELS["overdose_deaths"]
SeizureDocument = DATA_DOCUMENTS["seizures"]
EncounterDocument = DATA_DOCUMENTS["encounters"]
DeathDocument = DATA_DOCUMENTS["overdose_deaths"]


@router.get("/seizures", summary="Drug seizures (CBP)", response_model=SeizureDocument,
            responses=example_responses("/seizures"))
async def get_seizures(params: Annotated[SeizureParams, Query()], ctx: ContextDep) -> Response:
    """Pounds seized and seizure events by drug, area of responsibility, component, region and
    time. Example: `/seizures?drug=fentanyl&group_by=area,fiscal_year`. Every data answer's
    `meta.permalink` is the request pinned to the newest release (`as_of`); with `as_of` the
    answer is the one given once that release was loaded (`meta.vintage` names it,
    `meta.data_version` is null) and is cached as immutable."""
    return render(await data_document(ctx, params), ctx.output)


@router.get("/encounters", summary="Migrant encounters (CBP, DHS OHSS)",
            response_model=EncounterDocument,
            responses=example_responses("/encounters"))
async def get_encounters(params: Annotated[EncounterParams, Query()], ctx: ContextDep) -> Response:
    """Encounters by sector or field office, state, component, region, demographic,
    citizenship, title of authority, encounter type and time, answered from the release family
    that carries the requested dimensions and values (named in `meta.source`). Example:
    `/encounters?group_by=sector,month&fiscal_year=2022`. `as_of`, `meta.permalink` and
    `meta.vintage` as on /seizures."""
    return render(await data_document(ctx, params), ctx.output)


@router.get("/overdose-deaths", summary="Drug overdose deaths (CDC/NCHS)",
            response_model=DeathDocument,
            responses=example_responses("/overdose-deaths"))
async def get_overdose_deaths(params: Annotated[DeathParams, Query()], ctx: ContextDep) -> Response:
    """Deaths (and age-adjusted rates where published) by year, state, drug category and sex.
    Without `state` the figures are national. Example: `/overdose-deaths?group_by=year`.
    `as_of` (releases settled cell by cell, as the ingest does), `meta.permalink` and
    `meta.vintage` as on /seizures."""
    return render(await data_document(ctx, params), ctx.output)
