"""GET /claims, GET /claims/{claim_id}, POST /claims/verify: claims checked live against the data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncConnection

from app.api.examples import VERIFY_EXAMPLE_BODY, example_responses
from app.api.respond import Document, cached_json
from app.catalog import Catalog
from app.claims import registry, wording
from app.claims.evaluate import claim_document, evaluate_claim, evaluate_claims
from app.claims.spec import ClaimSpec
from app.render import json_body

RULES = {
    "verdicts": list(wording.VERDICTS),
    "wording": wording.RULES,
    "approximately": wording.APPROXIMATELY_RULE,
    "overall": wording.OVERALL_RULE,
    "share": "A share is sum(part) / sum(base), part and base from the same source; a zero base "
             "or a period without data gives no verdict ('no data'), never a wrong one.",
}


router = APIRouter(tags=["claims"])


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


async def current_catalog(request: Request) -> Catalog:
    return await request.app.state.catalogs.get()


async def connection(request: Request) -> AsyncIterator[AsyncConnection]:
    async with request.app.state.engine.connect() as conn:
        yield conn


CatalogDep = Annotated[Catalog, Depends(current_catalog)]
ConnectionDep = Annotated[AsyncConnection, Depends(connection)]


@router.get("/claims", summary="Every claim of the article, checked live",
            responses=example_responses("/claims"))
async def list_claims(request: Request, params: Annotated[NoParams, Query()]) -> Response:
    """Every claim of the article (New York Post, June 2022), evaluated now: our wording, the
    quoted words, the comparator, the primary definition and each alternative with numerator,
    denominator, value, verdict and the request reproducing each number, and the overall verdict.
    """

    async def build(catalog: Catalog, _raw: dict[str, str]):
        async with request.app.state.engine.connect() as conn:
            results = await evaluate_claims(conn=conn, catalog=catalog,
                                            claims=registry.registry().claims)
        data = [claim_document(r) for r in results]
        return Document(data, _meta(catalog, row_count=len(data)), None)

    return await cached_json(request, build)


@router.get("/claims/{claim_id}", summary="One claim, checked live",
            responses=example_responses("/claims/{claim_id}"))
async def get_claim(request: Request, params: Annotated[NoParams, Query()],
                    claim_id: Annotated[str, Path(description="Claim id, e.g. "
                                                  "`encounters-four-sectors` (see GET /claims).",
                                                  examples=["fentanyl-caaz-port-share"])]) -> Response:
    """One claim evaluated now (unknown id: 404 listing the valid ids)."""
    claim = registry.find_claim(claim_id)

    async def build(catalog: Catalog, _raw: dict[str, str]):
        async with request.app.state.engine.connect() as conn:
            result = await evaluate_claim(conn=conn, catalog=catalog, claim=claim)
        return Document(claim_document(result), _meta(catalog), None)

    return await cached_json(request, build)


@router.post("/claims/verify", summary="Check a claim you submit",
             responses=example_responses("/claims/verify"))
async def verify_claim(
    claim: Annotated[ClaimSpec, Body(openapi_examples={"share": {
        "summary": "A share of seizures", "value": VERIFY_EXAMPLE_BODY}})],
    catalog: CatalogDep, conn: ConnectionDep,
) -> Response:
    """Evaluate a claim written in the form of seed/claims.json: a comparator (`>`, `<`, `>=`,
    `<=`, `about`, `nearly` and the value X) and definitions (dataset, measure, filters, and for
    a share the part and the base). Filters are the data endpoints' query parameters, checked the
    same way: a bad one is a 422 naming it and the accepted values."""
    result = await evaluate_claim(conn=conn, catalog=catalog, claim=claim)
    return Response(json_body(claim_document(result), _meta(catalog)),
                    media_type="application/json")


def _meta(catalog: Catalog, **extra: Any) -> dict[str, Any]:
    return {**extra, "rules": RULES, "data_version": catalog.version}
