"""GET /healthz (the process is alive) and GET /readyz (the database can answer data requests)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.api.schemas.health import Liveness, Readiness
from app.ops.readiness import check_readiness

router = APIRouter(tags=["health"])

NO_STORE = {"Cache-Control": "no-store"}

READY_EXAMPLE = {
    "status": "ready",
    "checks": {"database": "ok", "migrations": "ok", "data": "ok"},
    "schema_revision": "6b72491b8588",
    "latest_revision": "6b72491b8588",
    "data_version": 1,
    "releases": 11,
}
UNAVAILABLE_EXAMPLE = {
    "status": "unavailable",
    "reason": "database: unreachable",
    "checks": {"database": "unreachable", "migrations": "not checked",
               "data": "not checked"},
    "schema_revision": None,
    "latest_revision": "6b72491b8588",
    "data_version": None,
    "releases": None,
}


@router.get("/healthz", summary="Liveness", response_model=Liveness,
            responses={200: {"content": {"application/json": {"example": {"status": "ok"}}}}})
async def healthz() -> JSONResponse:
    """Report that the process is alive; the database is not consulted."""
    return JSONResponse({"status": "ok"}, headers=NO_STORE)


@router.get(
    "/readyz", summary="Readiness", response_model=Readiness,
    responses={
        200: {"description": "Ready", "content": {"application/json": {"example": READY_EXAMPLE}}},
        503: {"description": "Not ready, with the reason", "model": Readiness,
              "content": {"application/json": {"example": UNAVAILABLE_EXAMPLE}}},
    },
)
async def readyz(request: Request) -> JSONResponse:
    """Report whether the database is reachable, migrated to the latest revision and holds data."""
    state = request.app.state
    readiness = await check_readiness(state.engine, timeout=state.settings.db_timeout_seconds)
    if readiness.ready:
        return JSONResponse(readiness.body(), headers=NO_STORE)
    if readiness.detail:
        state.outage_log.failed(readiness.detail)
    return JSONResponse(readiness.body(), status_code=503, headers={**NO_STORE, "Retry-After": "5"})
