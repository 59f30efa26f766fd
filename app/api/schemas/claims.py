"""The documents of /claims, /claims/{claim_id} and POST /claims/verify: a claim, its verdict and
every figure behind it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.api.schemas.common import (
    NO_DATA,
    FigureDocument,
    ReleaseSummary,
    Strict,
    Versioned,
)
from app.api.schemas.reference import DatasetName
from app.claims import wording
from app.claims.spec import ArticleRef, ComparatorSpec

Verdict = Literal[wording.VERDICTS]  # type: ignore[valid-type]


class DefinitionResult(Strict):
    """One way to compute the claim's figure, computed now, and its verdict."""

    id: str
    label: str
    kind: Literal["value", "share"] = Field(description="`value`: one figure; `share`: "
                                            "sum(part) / sum(base).")
    dataset: DatasetName
    measure: str
    unit: str = Field(description="The unit of `value`: `share` (a fraction) or the measure's.")
    filters: dict[str, str] = Field(description="Filters common to part and base, as written.")
    part: dict[str, str] | None = Field(None, description="share: the part's own filters (absent "
                                        "for a value).")
    base: dict[str, str] | None = Field(None, description="share: the base's own filters (absent "
                                        "for a value).")
    numerator: FigureDocument = Field(description="The value's figure, or the part's.")
    denominator: FigureDocument | None = Field(description="share: the base's figure; null for "
                                               "a value.")
    value: float | None = Field(description="The figure the wording is judged on." + NO_DATA)
    value_request: str | None = Field(description="The request that reproduces `value`.")
    comparator: ComparatorSpec = Field(description="The wording this definition is judged by.")
    wording_rule: str
    verdict: Verdict
    explanation: str = Field(description="The verdict in words, with the figure.")


class ClaimResult(Strict):
    """A claim evaluated now: the wording, the verdict of each definition and the overall one."""

    id: str
    claim: str = Field(description="The claim in our own words.")
    quote: str | None = Field(description="The few quoted words that carry the figure.")
    article: ArticleRef | None
    comparator: ComparatorSpec
    wording_rule: str
    approximately_rule: str
    verdict: Verdict = Field(description="The overall verdict (see `verdict_rule`).")
    verdict_rule: str
    primary: DefinitionResult
    alternatives: list[DefinitionResult]
    releases: list[ReleaseSummary] = Field(description="Every release behind any figure, once.")


class ClaimRules(Strict):
    """How verdicts are reached."""

    verdicts: list[Verdict]
    wording: dict[str, str] = Field(description="Operator -> what it means.")
    approximately: str
    overall: str
    share: str


class ClaimMeta(Versioned):
    rules: ClaimRules


class ClaimListMeta(ClaimMeta):
    row_count: int = Field(ge=0)


class ClaimsDocument(Strict):
    """Every claim of the article, checked live."""

    data: list[ClaimResult]
    meta: ClaimListMeta


class ClaimDocument(Strict):
    """One claim, checked live."""

    data: ClaimResult
    meta: ClaimMeta
