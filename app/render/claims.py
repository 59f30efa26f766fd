"""Evaluated claims as JSON documents: wording, verdict, and every figure behind it."""

from __future__ import annotations

from typing import Any

from app.claims import wording
from app.claims.evaluate import ClaimResult, DefinitionResult
from app.datasets import DATASETS
from app.render.meta import release_summary


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
    measure = DATASETS[definition.dataset].measure(definition.measure)
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
