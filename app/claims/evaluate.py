"""Evaluate a claim live: compute every definition through app.compare, judge it by the wording."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.claims import registry, wording
from app.claims.spec import ClaimSpec, ComparatorSpec, DefinitionSpec
from app.compare import Figure, Share, ShareQuery, Step, combine, compute, plan_share, plan_value
from app.datasets import DATASETS
from app.query.build import remember
from app.query.catalog import Catalog

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


def plan_claim(*, catalog: Catalog, claim: ClaimSpec) -> Step[ClaimResult]:
    """Every definition of a claim planned as figures, judged once they are computed."""
    steps = [_plan_definition(catalog, claim, index, definition)
             for index, definition in enumerate(claim.definitions)]

    def finish(results: list[DefinitionResult]) -> ClaimResult:
        primary, alternatives = results[0], results[1:]
        verdict = wording.overall(primary.verdict.verdict, [a.verdict.verdict for a in alternatives])
        return ClaimResult(claim=claim, primary=primary, alternatives=alternatives, verdict=verdict)

    return combine(steps, finish)


async def evaluate_claims(*, conn: AsyncConnection, catalog: Catalog, claims: list[ClaimSpec],
                          registered: bool = False) -> list[ClaimResult]:
    """Evaluate several claims: their figures in one SQL statement. `registered`: the claims are
    the registry's (they live as long as the process), so their plans are made once per data
    version; a posted claim is planned afresh each time."""
    return await compute(conn, catalog, [_planned(catalog, c) if registered
                                         else plan_claim(catalog=catalog, claim=c) for c in claims],
                         reuse=registered)


def _planned(catalog: Catalog, claim: ClaimSpec) -> Step[ClaimResult]:
    key = ("claim", id(claim))
    found = catalog.memo.get(key)
    if found is not None and found[0] is claim:
        return found[1]
    return remember(catalog, key, (claim, plan_claim(catalog=catalog, claim=claim)))[1]


async def evaluate_claim(*, conn: AsyncConnection, catalog: Catalog, claim: ClaimSpec,
                         registered: bool = False) -> ClaimResult:
    """Compute and judge every definition of a claim."""
    (result,) = await evaluate_claims(conn=conn, catalog=catalog, claims=[claim],
                                      registered=registered)
    return result


def _plan_definition(catalog: Catalog, claim: ClaimSpec, index: int,
                     definition: DefinitionSpec) -> Step[DefinitionResult]:
    at = f"definitions[{index}]."
    comparator = definition.comparator or claim.comparator
    dataset = DATASETS[definition.dataset]
    if definition.kind == "share":
        query = ShareQuery(measure=definition.measure, common=definition.filters,
                           base=definition.base or {}, part=definition.part or {}, base_preset=None)
        step = plan_share(catalog=catalog, dataset=dataset, query=query, breakdown=False,
                          labels=(at + "filters.{}", at + "base.{}", at + "part.{}"))

        def figures_of(share: Share) -> tuple[Figure, Figure | None, Any, str | None]:
            return share.numerator, share.denominator, share.value, share.request
    else:
        step = plan_value(catalog=catalog, dataset=dataset, measure=definition.measure,
                          filters=definition.filters, label=at + "filters.{}")

        def figures_of(figure: Figure) -> tuple[Figure, Figure | None, Any, str | None]:
            return figure, None, figure.value, figure.request

    def finish(outcomes: list[Any]) -> DefinitionResult:
        numerator, denominator, value, value_request = figures_of(outcomes[0])
        return _judge(definition, comparator, numerator, denominator, value, value_request)

    return combine([step], finish)


def _judge(definition: DefinitionSpec, comparator: ComparatorSpec, numerator: Figure,
           denominator: Figure | None, value: Any, value_request: str | None) -> DefinitionResult:
    figures = [f for f in (numerator, denominator) if f is not None]
    unit = comparator.unit or ("share" if definition.kind == "share" else None)
    # A registered claim's verdicts are kept (bounded; its unit and wording are the registry's),
    # a posted claim's are not: what it posts (a unit of any length) is not kept past its request.
    judge = wording.judge_kept if registry.is_registered(definition) else wording.judge
    verdict = judge(value=value, op=comparator.op, target=comparator.value,
                    tolerance=comparator.tolerance, precision=comparator.precision, unit=unit)
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
