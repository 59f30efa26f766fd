"""Evaluated claims as JSON documents: wording, verdict, and every figure behind it."""

from __future__ import annotations

from typing import Any

from app.claims import registry, wording
from app.claims.evaluate import ClaimResult, DefinitionResult
from app.claims.spec import ClaimSpec, ComparatorSpec, DefinitionSpec
from app.datasets import DATASETS
from app.render.meta import release_summary


def claim_document(result: ClaimResult) -> dict[str, Any]:
    """The JSON document of an evaluated claim."""
    document = dict(_template(result.claim, _claim_template))
    document["verdict"] = result.verdict
    document["primary"] = definition_document(result.primary)
    document["alternatives"] = [definition_document(a) for a in result.alternatives]
    document["releases"] = claim_releases(result)
    return document


def definition_document(result: DefinitionResult) -> dict[str, Any]:
    document = dict(_template(result.definition, _definition_template, result.comparator))
    document["numerator"] = result.numerator.document()
    document["denominator"] = result.denominator.document() if result.denominator else None
    document["value"] = result.value
    document["value_request"] = result.value_request
    document["wording_rule"] = result.verdict.rule
    document["verdict"] = result.verdict.verdict
    document["explanation"] = result.verdict.explanation
    return document


def _claim_template(claim: ClaimSpec) -> dict[str, Any]:
    """What a claim's document says whatever the figures: every key in the document's order, the
    figures' keys set to None until they are filled in."""
    comparator = claim.comparator
    return {
        "id": claim.id,
        "claim": claim.claim,
        "quote": claim.quote,
        "article": claim.article.model_dump() if claim.article else None,
        "comparator": comparator.model_dump(),
        "wording_rule": wording.wording_rule(comparator.op, comparator.tolerance),
        "approximately_rule": wording.APPROXIMATELY_RULE,
        "verdict": None,
        "verdict_rule": wording.OVERALL_RULE,
        "primary": None,
        "alternatives": None,
        "releases": None,
    }


def _definition_template(definition: DefinitionSpec, comparator: ComparatorSpec) -> dict[str, Any]:
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
        "numerator": None,
        "denominator": None,
        "value": None,
        "value_request": None,
        "comparator": comparator.model_dump(),
        "wording_rule": None,
        "verdict": None,
        "explanation": None,
    }
    if definition.kind == "value":
        document.pop("part")
        document.pop("base")
    return document


# The templates of the registered claims and their definitions, by the spec object (they live as
# long as the process): a GET /claims writes ~30 documents of them. A posted claim's template is
# made for its request and not kept. The templates are copied before they are filled in.
_TEMPLATES: dict[int, dict[str, Any]] = {}


def _template(spec: Any, make: Any, comparator: ComparatorSpec | None = None) -> dict[str, Any]:
    if not registry.is_registered(spec):
        return make(spec) if comparator is None else make(spec, comparator)
    # A registered definition belongs to one claim: its comparator (its own or the claim's)
    # follows from it.
    found = _TEMPLATES.get(id(spec))
    if found is None:
        found = _TEMPLATES[id(spec)] = make(spec) if comparator is None else make(spec, comparator)
    return found


def claim_releases(result: ClaimResult) -> list[dict[str, Any]]:
    """Every release behind any figure of the claim, once."""
    found = {}
    for item in (result.primary, *result.alternatives):
        for figure in item.figures:
            for release in figure.releases:
                found[release.id] = release
    return [release_summary(found[i]) for i in sorted(found)]
