"""Evaluate a claim live: compute every definition through app.compare, judge it by the wording."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app import compare
from app.catalog import Catalog
from app.claims import wording
from app.claims.spec import ClaimSpec, ComparatorSpec, DefinitionSpec
from app.compare import Figure
from app.datasets import DATASETS
from app.render import release_summary

PARTIAL_PERIOD = "the loaded data cover only part of the period: no verdict on a partial figure"


@dataclass(frozen=True)
class DefinitionResult:
    """One definition computed and judged."""

    definition: DefinitionSpec
    comparator: ComparatorSpec
    numerator: Figure
    denominator: Figure | None
    value: float | int | None
    value_request: str | None
    verdict: wording.Verdict

    @property
    def figures(self) -> list[Figure]:
        return [f for f in (self.numerator, self.denominator) if f is not None]


@dataclass(frozen=True)
class ClaimResult:
    """A claim with its primary and alternative definitions and the overall verdict."""

    claim: ClaimSpec
    primary: DefinitionResult
    alternatives: list[DefinitionResult]
    verdict: str


async def evaluate_claim(*, conn: AsyncConnection, catalog: Catalog, claim: ClaimSpec) -> ClaimResult:
    """Compute and judge every definition of a claim."""
    results = [await _evaluate_definition(conn, catalog, claim, index, definition)
               for index, definition in enumerate(claim.definitions)]
    primary, alternatives = results[0], results[1:]
    verdict = wording.overall(primary.verdict.verdict, [a.verdict.verdict for a in alternatives])
    return ClaimResult(claim=claim, primary=primary, alternatives=alternatives, verdict=verdict)


async def evaluate_claims(*, conn: AsyncConnection, catalog: Catalog,
                          claims: list[ClaimSpec]) -> list[ClaimResult]:
    """Evaluate several claims on one connection."""
    return [await evaluate_claim(conn=conn, catalog=catalog, claim=c) for c in claims]


async def _evaluate_definition(conn: AsyncConnection, catalog: Catalog, claim: ClaimSpec,
                               index: int, definition: DefinitionSpec) -> DefinitionResult:
    at = f"definitions[{index}]."
    comparator = definition.comparator or claim.comparator
    denominator = None
    if definition.kind == "share":
        share = await compare.share(
            conn=conn, catalog=catalog, dataset=definition.dataset, measure=definition.measure,
            common=definition.filters, base=definition.base or {}, part=definition.part or {},
            labels=(at + "filters.{}", at + "base.{}", at + "part.{}"), breakdown=False)
        numerator, denominator = share.numerator, share.denominator
        value, value_request = share.value, share.request
    else:
        numerator = await compare.figure(
            conn=conn, catalog=catalog, dataset=definition.dataset, measure=definition.measure,
            filters=definition.filters, label=at + "filters.{}")
        value, value_request = numerator.value, numerator.request
    figures = [f for f in (numerator, denominator) if f is not None]
    unit = comparator.unit or ("share" if definition.kind == "share" else None)
    verdict = wording.judge(value=value, op=comparator.op, target=comparator.value,
                            tolerance=comparator.tolerance, precision=comparator.precision,
                            unit=unit)
    if value is None:
        reason = next((f.note for f in figures if f.note), None)
        if definition.kind == "share" and denominator is not None and denominator.value == 0:
            reason = "the base is zero for the period: the share is undefined"
        verdict = wording.Verdict(wording.NO_DATA, verdict.rule, reason or verdict.explanation)
    elif any(f.complete is False for f in figures):
        verdict = wording.Verdict(wording.NO_DATA, verdict.rule, PARTIAL_PERIOD)
    return DefinitionResult(definition=definition, comparator=comparator, numerator=numerator,
                            denominator=denominator, value=value, value_request=value_request,
                            verdict=verdict)


# --- documents ----------------------------------------------------------------------------------

def claim_document(result: ClaimResult) -> dict[str, Any]:
    """The JSON document of an evaluated claim."""
    claim = result.claim
    comparator = claim.comparator
    return {
        "id": claim.id,
        "claim": claim.claim,
        "quote": claim.quote,
        "article": claim.article.model_dump() if claim.article else None,
        "comparator": comparator.model_dump(),
        "wording_rule": wording.wording_rule(comparator.op, comparator.tolerance),
        "approximately_rule": wording.APPROXIMATELY_RULE,
        "verdict": result.verdict,
        "verdict_rule": wording.OVERALL_RULE,
        "primary": definition_document(result.primary),
        "alternatives": [definition_document(a) for a in result.alternatives],
        "releases": claim_releases(result),
    }


def definition_document(result: DefinitionResult) -> dict[str, Any]:
    definition = result.definition
    measure = next(m for m in DATASETS[definition.dataset].measures if m.name == definition.measure)
    document: dict[str, Any] = {
        "id": definition.id,
        "label": definition.label,
        "kind": definition.kind,
        "dataset": definition.dataset,
        "measure": definition.measure,
        "unit": "share" if definition.kind == "share" else measure.unit,
        "filters": definition.filters,
        "part": definition.part,
        "base": definition.base,
        "numerator": result.numerator.document(),
        "denominator": result.denominator.document() if result.denominator else None,
        "value": result.value,
        "value_request": result.value_request,
        "comparator": result.comparator.model_dump(),
        "wording_rule": result.verdict.rule,
        "verdict": result.verdict.verdict,
        "explanation": result.verdict.explanation,
    }
    if definition.kind == "value":
        document.pop("part")
        document.pop("base")
    return document


def claim_releases(result: ClaimResult) -> list[dict[str, Any]]:
    """Every release behind any figure of the claim, once."""
    found = {}
    for item in (result.primary, *result.alternatives):
        for figure in item.figures:
            for release in figure.releases:
                found[release.id] = release
    return [release_summary(found[i]) for i in sorted(found)]
