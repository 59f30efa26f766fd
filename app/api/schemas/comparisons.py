"""The documents of /comparisons and its five kinds: rows (JSON `data`, CSV) and a meta naming
every figure's filters, request and releases."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from app.api.schemas.common import NO_DATA, FigureDocument, Provenance, Strict
from app.api.schemas.reference import DatasetName

SHARE = "A fraction from 0 to 1 (0.9 is 90 %): sum(part) / sum(base)." + NO_DATA
REQUEST = "The data endpoint request that reproduces the figure."
UNIT = "Unit of the numerators and denominators (the measure's)."
RULE = "How the figures are computed, in words."


class ComparisonParameter(Strict):
    """A query parameter of a comparison."""

    name: str
    required: bool
    description: str | None
    accepted: list[str] | None = Field(description="The accepted values, when they are a fixed "
                                       "list.")
    default: Any = Field(description="The value taken when the parameter is not given.")
    example: str | None


class ComparisonKind(Strict):
    """A comparison: its path and parameters."""

    path: str
    summary: str
    formats: list[Literal["json", "csv"]]
    parameters: list[ComparisonParameter]


class ComparisonsMeta(Strict):
    row_count: int = Field(ge=0)
    share_rule: str = Field(description=RULE)


class ComparisonsDocument(Strict):
    """Every comparison kind with its parameters."""

    data: list[ComparisonKind]
    meta: ComparisonsMeta


class ShareRow(Strict):
    """The whole part (`member` = `total`), then each member of it, as shares of the base."""

    member: str = Field(description="`total`, or the member's slug (an area, a state, a "
                        "component).")
    name: str = Field(description="Display name.")
    numerator: float | None = Field(description="The part's (member's) figure." + NO_DATA)
    denominator: float | None = Field(description="The base's figure." + NO_DATA)
    share: float | None = Field(description=SHARE)
    request: str = Field(description=REQUEST)


class ShareFilters(Strict):
    """The three layers of filters, as given."""

    common: dict[str, str] = Field(description="Filters common to part and base.")
    part: dict[str, str] = Field(description="`part_*` filters (the numerator's own).")
    base: dict[str, str] = Field(description="`base_*` filters (the denominator's own).")
    base_preset: str | None = Field(description="The named `base`, if given.")


class ShareMeta(Provenance):
    comparison: Literal["seizure-share", "encounter-share"]
    measure: str
    unit: str | None = Field(description=UNIT)
    filters: ShareFilters
    share: float | None = Field(description=SHARE)
    share_note: str | None = Field(description="Why the share is null; null when it is not.")
    numerator: FigureDocument
    denominator: FigureDocument
    request: str | None = Field(description="The comparison request that reproduces the share.")
    rule: str = Field(description=RULE)


class ShareDocument(Strict):
    """A part as a share of a base, with one row per member of the part."""

    data: list[ShareRow]
    meta: ShareMeta


class GroupRow(Strict):
    """A group of states: its share of Southwest seizures beside its share of encounters."""

    group: str = Field(description="The group's states, e.g. `CA,AZ`.")
    seizures: float | None = Field(description="The group's seizures (the measure's unit)."
                                   + NO_DATA)
    seizures_southwest: float | None = Field(description="Southwest Border seizures." + NO_DATA)
    seizure_share: float | None = Field(description=SHARE)
    encounters: float | None = Field(description="The group's encounters." + NO_DATA)
    encounters_southwest: float | None = Field(description="Southwest land border encounters."
                                               + NO_DATA)
    encounter_share: float | None = Field(description=SHARE)
    ratio: float | None = Field(description="seizure_share / encounter_share; null when either "
                                "is null or the encounter share is zero.")
    seizure_share_request: str | None
    encounter_share_request: str | None
    note: str | None


class MemberFigure(Strict):
    """One member of a group (an area, a state) and its share."""

    member: str
    name: str
    value: float | None = Field(description="Its figure." + NO_DATA)
    share: float | None = Field(description=SHARE)
    request: str = Field(description=REQUEST)


class GroupShare(Strict):
    numerator: FigureDocument
    denominator: FigureDocument
    share: float | None = Field(description=SHARE)
    note: str | None


class GroupSeizures(GroupShare):
    areas: list[MemberFigure] = Field(description="The areas whose seizures count in the group.")


class GroupEncounters(GroupShare):
    states: list[MemberFigure] = Field(description="The group's states.")


class GroupDetail(Strict):
    group: str
    seizures: GroupSeizures
    encounters: GroupEncounters


class GroupsMeta(Provenance):
    comparison: Literal["seizures-vs-encounters"]
    measure: str
    unit: str | None = Field(description=UNIT)
    filters: dict[str, str] = Field(description="The parameters given.")
    groups: list[GroupDetail] = Field(description="Each group's four figures.")
    rule: str = Field(description=RULE)


class GroupsDocument(Strict):
    """Groups of states: share of seizures vs share of encounters."""

    data: list[GroupRow]
    meta: GroupsMeta


class SplitRow(Strict):
    """A component's seizures as a share of both components' total."""

    component: Literal["OFO", "USBP"]
    name: str
    numerator: float | None = Field(description="The component's figure." + NO_DATA)
    denominator: float | None = Field(description="Both components' total." + NO_DATA)
    share: float | None = Field(description=SHARE)
    request: str = Field(description=REQUEST)


class SplitMeta(Provenance):
    comparison: Literal["ports-vs-between"]
    measure: str
    unit: str | None = Field(description=UNIT)
    filters: dict[str, str] = Field(description="The parameters given.")
    total: FigureDocument
    components: dict[str, FigureDocument] = Field(description="`OFO` and `USBP`: each figure.")
    share_note: str | None
    rule: str = Field(description=RULE)


class SplitDocument(Strict):
    """Seizures split between ports of entry (OFO) and between ports (USBP)."""

    data: list[SplitRow]
    meta: SplitMeta


class MonthsCompared(Strict):
    before: list[str] = Field(description="Months of the earlier period added up (monthly "
                              "data; empty for annual).")
    after: list[str] = Field(description="Months of the later period added up.")


class ChangeRow(Strict):
    """A measure in two periods and its change."""

    dataset: DatasetName
    measure: str
    before_period: str
    after_period: str
    before_value: float | None = Field(description="The earlier figure." + NO_DATA)
    after_value: float | None = Field(description="The later figure." + NO_DATA)
    absolute_change: float | None = Field(description="after - before; null without both.")
    percent_change: float | None = Field(description="(after - before) / before * 100; null "
                                         "when before is zero or either has no data.")
    like_for_like: bool = Field(description="Whether the same months of each period were "
                                "compared.")
    months_compared: MonthsCompared
    before_request: str = Field(description=REQUEST)
    after_request: str = Field(description=REQUEST)
    note: str | None


class ChangeMeta(Provenance):
    comparison: Literal["change"]
    dataset: DatasetName
    measure: str
    unit: str | None = Field(description=UNIT)
    filters: dict[str, str] = Field(description="The filters given.")
    before: FigureDocument
    after: FigureDocument
    rule: str = Field(description=RULE)


class ChangeDocument(Strict):
    """A measure between two periods: one row."""

    data: list[ChangeRow]
    meta: ChangeMeta
