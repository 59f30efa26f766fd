"""A claim in declarative form (seed/claims.json, POST /claims/verify): what to compute and the
wording to judge it by. Values of filters are checked later, through parse_query."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from app.datasets import DATASETS

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]


def _as_text(value: Any) -> Any:
    # JSON writers put years as numbers (2021); the query layer takes strings.
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else str(value)
    return value


FilterValue = Annotated[str, BeforeValidator(_as_text)]
Filters = dict[str, FilterValue]


class ComparatorSpec(BaseModel):
    """The wording: an operator, the figure X, and how loosely X may be read."""

    model_config = ConfigDict(extra="forbid")

    op: Literal[">", "<", ">=", "<=", "about", "nearly"] = Field(
        description="`>` more than, `<` less than, `>=` at least, `<=` at most, `about` "
        "(roughly), `nearly` (just under).", examples=[">"])
    value: float = Field(ge=-1e15, le=1e15,
                         description="X, in the unit of the definition's value: a share is a "
                         "fraction (0.9 for 90 %).", examples=[0.9])
    unit: str | None = Field(None, description="How X is written: `share`, `lbs`, "
                             "`encounters`, `deaths`...", examples=["share"])
    tolerance: float | None = Field(None, gt=0, lt=1, description="Relative tolerance of "
                                    "`about` (default 0.10) and `nearly` (default 0.05).")
    precision: float | None = Field(None, ge=1e-9, le=1e15, description="The precision X is written to "
                                    "(0.01 for whole percent, 1000 for thousands): a value that "
                                    "fails the wording but rounds half up to X is "
                                    "'approximately'. Unset: no 'approximately'.",
                                    examples=[0.01])

    @model_validator(mode="after")
    def _check(self) -> ComparatorSpec:
        if not math.isfinite(self.value):
            raise ValueError("value must be a finite number")
        if self.tolerance is not None and self.op not in ("about", "nearly"):
            raise ValueError(f"tolerance applies to 'about' and 'nearly', not {self.op!r}")
        return self


class DefinitionSpec(BaseModel):
    """One way to compute the claim's figure: a value, or a part as a share of a base."""

    model_config = ConfigDict(extra="forbid")

    id: Slug = Field(description="Short id, unique within the claim.", examples=["caaz-ports"])
    label: str = Field("", max_length=300, description="What this definition counts, in words.")
    kind: Literal["value", "share"] = Field(description="`value`: one figure; `share`: "
                                            "sum(part) / sum(base).")
    dataset: Literal[tuple(DATASETS)]  # type: ignore[valid-type]
    measure: str = Field(description="A measure of the dataset: quantity_lbs, event_count "
                         "(seizures), encounter_count, deaths.", examples=["quantity_lbs"])
    filters: Filters = Field(default_factory=dict, description="Query parameters of the data "
                             "endpoint (/seizures, /encounters, /overdose-deaths) common to part "
                             "and base, periods included: drug, fiscal_year, from, to, ...",
                             examples=[{"drug": "fentanyl", "fiscal_year": "2021"}])
    part: Filters | None = Field(None, description="share: the part's own filters (counted "
                                 "within the base), e.g. {\"area\": \"san-diego-field-office\"}.")
    base: Filters | None = Field(None, description="share: the base's own filters, e.g. "
                                 "{\"region\": \"southwest\", \"component\": \"ofo\"}; {} for "
                                 "everything the common filters select.")
    comparator: ComparatorSpec | None = Field(None, description="A wording for this definition "
                                              "only (e.g. a share where the claim states a "
                                              "count); default: the claim's.")

    @field_validator("measure")
    @classmethod
    def _known_measure(cls, measure: str, info: ValidationInfo) -> str:
        dataset = info.data.get("dataset")
        if dataset is not None and measure not in DATASETS[dataset].measure_names:
            raise ValueError(f"measure {measure!r} is not a measure of {dataset}; accepted: "
                             + ", ".join(DATASETS[dataset].measure_names))
        return measure

    @field_validator("filters", "part", "base")
    @classmethod
    def _no_paging(cls, filters: dict[str, str] | None) -> dict[str, str] | None:
        shaping = sorted(set(filters or {}) & {"group_by", "sort", "limit", "offset"})
        if shaping:
            raise ValueError(f"{', '.join(shaping)} would split the figure into rows; a "
                             "definition adds up to one figure")
        return filters

    @model_validator(mode="after")
    def _check(self) -> DefinitionSpec:
        if self.kind == "value" and (self.part or self.base):
            raise ValueError("a 'value' definition takes filters only; part and base are for "
                             "'share'")
        if self.kind == "share":
            if DATASETS[self.dataset].share_path is None:
                sharing = [d.name for d in DATASETS.values() if d.share_path]
                raise ValueError(f"shares are computed for {' and '.join(sharing)}")
            if not self.part:
                raise ValueError("a 'share' definition needs a non-empty part")
            if self.measure not in DATASETS[self.dataset].additive_measures:
                raise ValueError(f"measure {self.measure!r} cannot be summed into a share")
        return self


class ArticleRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    publication: str
    date: str
    topic: str | None = None


class ClaimSpec(BaseModel):
    """A claim: our wording, the quoted words, the comparator and one or more definitions."""

    model_config = ConfigDict(extra="forbid")

    id: Slug = Field("submitted", description="Claim id.")
    claim: str = Field("", max_length=1000, description="The claim in our own words.")
    quote: str | None = Field(None, max_length=200, description="Only the few quoted words that "
                              "carry the figure and its wording.")
    comparator: ComparatorSpec
    definitions: list[DefinitionSpec] = Field(min_length=1, max_length=10, description="The "
                                              "first is the primary definition; the others are "
                                              "alternatives.")
    article: ArticleRef | None = None

    @model_validator(mode="after")
    def _check(self) -> ClaimSpec:
        ids = [d.id for d in self.definitions]
        if len(set(ids)) != len(ids):
            raise ValueError("definition ids must be unique within a claim")
        return self


class ClaimRegistry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str
    claims: list[ClaimSpec]
