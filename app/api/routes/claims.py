"""GET /claims, GET /claims/{claim_id}, POST /claims/verify: claims checked live against the data."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Response

from app.api.deps import Context, ContextDep
from app.api.examples import VERIFY_EXAMPLE_BODY, example_responses
from app.api.params import AS_OF_DESCRIPTION, VintageParams
from app.api.schemas.claims import ClaimDocument, ClaimsDocument
from app.claims import registry, wording
from app.claims.evaluate import evaluate_claim, evaluate_claims
from app.claims.spec import ClaimSpec
from app.query.catalog import Catalog
from app.render.claims import claim_document
from app.render.formats import Document, Output, render
from app.render.meta import version_meta

RULES = {
    "verdicts": list(wording.VERDICTS),
    "wording": wording.RULES,
    "approximately": wording.APPROXIMATELY_RULE,
    "overall": wording.OVERALL_RULE,
    "share": "A share is sum(part) / sum(base), part and base from the same source; a zero base "
             "or a period without data gives no verdict ('no data'), never a wrong one.",
}

router = APIRouter(tags=["claims"])


class NoParams(VintageParams):
    pass


@router.get("/claims", summary="Every claim of the article, checked live",
            response_model=ClaimsDocument, responses=example_responses("/claims"))
async def list_claims(params: Annotated[NoParams, Query()], ctx: ContextDep) -> Response:
    """Every claim of the article (New York Post, June 2022), evaluated now: our wording, the
    quoted words, the comparator, the primary definition and each alternative with numerator,
    denominator, value, verdict and the request reproducing each number, and the overall verdict.
    With `as_of`, as the data stood once that release was loaded (`meta.vintage`; the
    reproducing requests carry the same `as_of`); `meta.permalink` pins the answer."""
    catalog = await ctx.catalog()
    async with ctx.engine.connect() as conn:
        results = await evaluate_claims(conn=conn, catalog=catalog,
                                        claims=registry.registry().claims, registered=True)
    data = [claim_document(r) for r in results]
    return render(Document(data, _meta(catalog, ctx, row_count=len(data))), ctx.output)


@router.get("/claims/{claim_id}", summary="One claim, checked live",
            response_model=ClaimDocument, responses=example_responses("/claims/{claim_id}"))
async def get_claim(params: Annotated[NoParams, Query()], ctx: ContextDep,
                    claim_id: Annotated[str, Path(description="Claim id, e.g. "
                                                  "`encounters-four-sectors` (see GET /claims).",
                                                  examples=["fentanyl-caaz-port-share"])]) -> Response:
    """One claim evaluated now, or `as_of` a release or past day (unknown id: 404 listing the
    valid ids); `meta.permalink` pins the answer to the newest release."""
    claim = registry.find_claim(claim_id)
    catalog = await ctx.catalog()
    async with ctx.engine.connect() as conn:
        result = await evaluate_claim(conn=conn, catalog=catalog, claim=claim, registered=True)
    return render(Document(claim_document(result), _meta(catalog, ctx)), ctx.output)


@router.post("/claims/verify", summary="Check a claim you submit",
             response_model=ClaimDocument, responses=example_responses("/claims/verify"))
async def verify_claim(
    claim: Annotated[ClaimSpec, Body(openapi_examples={"share": {
        "summary": "A share of seizures", "value": VERIFY_EXAMPLE_BODY}})],
    ctx: ContextDep,
    as_of: Annotated[str | None, Query(description=AS_OF_DESCRIPTION)] = None,
) -> Response:
    """Evaluate a claim written in the form of seed/claims.json: a comparator (`>`, `<`, `>=`,
    `<=`, `about`, `nearly` and the value X) and definitions (dataset, measure, filters, and for
    a share the part and the base). Filters are the data endpoints' query parameters, checked the
    same way: a bad one is a 422 naming it and the accepted values."""
    catalog = await ctx.catalog()
    async with ctx.engine.connect() as conn:
        result = await evaluate_claim(conn=conn, catalog=catalog, claim=claim)
    return render(Document(claim_document(result), _meta(catalog, None)), Output("json", False))


def _meta(catalog: Catalog, ctx: Context | None, **extra: Any) -> dict[str, Any]:
    permalink = ctx.page.permalink(catalog) if ctx is not None else None
    return {**extra, "rules": RULES, **version_meta(catalog, permalink)}
