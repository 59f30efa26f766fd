"""GET /seizures, /encounters, /overdose-deaths: aggregated figures, JSON or CSV."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.api.examples import example_responses
from app.api.query_models import DeathParams, EncounterParams, SeizureParams
from app.api.respond import data_response

router = APIRouter(tags=["data"])


@router.get("/seizures", summary="Drug seizures (CBP)", responses=example_responses("/seizures"))
async def get_seizures(request: Request, params: Annotated[SeizureParams, Query()]) -> Response:
    """Pounds seized and seizure events by drug, area of responsibility, component, region and
    time. Example: `/seizures?drug=fentanyl&group_by=area,fiscal_year`."""
    return await data_response(request, "seizures")


@router.get("/encounters", summary="Migrant encounters (CBP, DHS OHSS)",
            responses=example_responses("/encounters"))
async def get_encounters(request: Request, params: Annotated[EncounterParams, Query()]) -> Response:
    """Encounters by sector or field office, state, component, region, demographic,
    citizenship, title of authority, encounter type and time, answered from the release that
    carries the requested dimensions (named in `meta.source`). Example:
    `/encounters?group_by=sector,month&fiscal_year=2022`."""
    return await data_response(request, "encounters")


@router.get("/overdose-deaths", summary="Drug overdose deaths (CDC/NCHS)",
            responses=example_responses("/overdose-deaths"))
async def get_overdose_deaths(request: Request, params: Annotated[DeathParams, Query()]) -> Response:
    """Deaths (and age-adjusted rates where published) by year, state, drug category and sex.
    Without `state` the figures are national. Example: `/overdose-deaths?group_by=year`."""
    return await data_response(request, "overdose_deaths")
