"""The documents of /seizures, /encounters and /overdose-deaths, built from the registry.

A row holds the group_by keys asked for (each dimension's output columns, the time grain's key),
every measure and, with a time grain, `period_complete`: which of them appear depends on group_by,
so every column is declared and none is required. Meta is the same for every dataset but for the
time axis (months or years) and `source`, present where a dataset has several release families.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from app.api.schemas.common import (
    NO_DATA,
    MeasureInfo,
    MonthCoverage,
    MonthsSummed,
    ReleaseSummary,
    Strict,
    Versioned,
    YearCoverage,
    YearsSummed,
)
from app.datasets import DATASETS, Dataset
from app.datasets.time import GRAIN_DESCRIPTIONS, GRAIN_KEYS


class SourceInfo(Strict):
    """The release family that answered (datasets published in several families)."""

    key: str = Field(description="The family's key, e.g. `cbp-state-encounters` (see the "
                     "`sources` of GET /datasets).")
    title: str = Field(description="The family's title.")
    exact: bool = Field(description="False for a family that rounds its figures (the OHSS series "
                        "rounds to the nearest 10).")



def row_model(dataset: Dataset) -> type[BaseModel]:
    """One row: the group_by keys, the measures and `period_complete`."""
    fields: dict[str, Any] = {}
    for dim in dataset.dimensions:
        for output in dim.shape.outputs:
            text = output.description or f"the canonical value. {dim.description}"
            fields.setdefault(output.label, (str, Field(None, description=f"With group_by="
                                                        f"{dim.name}: {text}")))
    for grain in dataset.time.grains:
        kind, pattern = GRAIN_KEYS[grain]
        fields[grain] = (kind, Field(None, description=f"With group_by={grain}: the period, "
                                     f"{GRAIN_DESCRIPTIONS[grain]}.", pattern=pattern))
    for measure in dataset.measures:
        kind = int if measure.integer else float
        fields[measure.name] = (kind | None, Field(
            None, description=f"{measure.description} Unit: {measure.unit}.{NO_DATA}",
            json_schema_extra={"x-unit": measure.unit}))
    fields["period_complete"] = (bool, Field(None, description="With a time grain: whether the "
                                             "data cover the whole period of the row."))
    return create_model(f"{dataset.model_name}Row", __base__=Strict,
                        __doc__=f"One row of {dataset.path}: the group_by keys asked for, then "
                        "every measure.", **fields)


def filters_model(dataset: Dataset) -> type[BaseModel]:
    """The filters as understood: each dimension's values as users read them, and the period."""
    fields: dict[str, Any] = {
        dim.name: (list[str], Field(None, description=f"{dim.name}, as understood."))
        for dim in dataset.dimensions}
    for param, kind in dataset.time.described:
        fields[param] = (kind, Field(None, description=f"The `{param}` asked for."))
    return create_model(f"{dataset.model_name}Filters", __base__=Strict,
                        __doc__="The filters as understood, values as users read them, and the "
                        "defaults a dimension takes when neither filtered nor grouped.", **fields)


def measures_model(dataset: Dataset) -> type[BaseModel]:
    fields = {m.name: (MeasureInfo, Field(description=m.description)) for m in dataset.measures}
    return create_model(f"{dataset.model_name}Measures", __base__=Strict,
                        __doc__=f"Every measure of {dataset.path} with its unit.", **fields)


def meta_model(dataset: Dataset) -> type[BaseModel]:
    monthly = dataset.time.unit == "month"
    dimensions = tuple(n for d in dataset.dimensions for n in d.names())
    fields: dict[str, Any] = {
        "dataset": (Literal[dataset.name], Field(description="The dataset.")),
        "filters": (filters_model(dataset), Field(description="The filters as understood.")),
        "group_by": (list[Literal[dimensions]], Field(description="The dimensions grouped by "
                                                       "(the time grain is in `grain`).")),
        "grain": (Literal[dataset.time.grains] | None, Field(description="The time grain "
                                                              "grouped by, if any.")),
        "grain_definition": (str | None, Field(description="What a period of the grain is.")),
        "measures": (measures_model(dataset), Field(description="Units and definitions.")),
        "sort": (list[str], Field(description="The row order: keys or measures, `-` for "
                                  "descending.")),
        "row_count": (int, Field(description="Rows in `data`.", ge=0)),
        "total_rows": (int, Field(description="Rows of the whole answer, every page.", ge=0)),
        "limit": (int, Field(description="Rows per page.", ge=1)),
        "offset": (int, Field(description="Rows skipped.", ge=0)),
        "next": (str | None, Field(description="The request of the next page; null on the "
                                   "last.")),
    }
    if len(dataset.families) > 1:
        fields["source"] = (SourceInfo, Field(description="The release family that answered."))
    fields.update({
        "coverage": ((MonthCoverage if monthly else YearCoverage) | None,
                     Field(description="The span the answering family covers; null when none "
                           "of it is loaded.")),
        "period": ((MonthsSummed if monthly else YearsSummed) | None,
                   Field(description="The months (years) the figures add up; null when none.")),
        "complete": (bool, Field(description="Whether the data cover every requested period.")),
        "releases": (list[ReleaseSummary], Field(description="The releases behind the figures.")),
        "caveats": (list[str], Field(description="What to beware of when reading the figures.")),
    })
    return create_model(f"{dataset.model_name}Meta", __base__=Versioned,
                        __doc__="What the figures are, where they come from, what to beware of.",
                        **fields)


def document_model(dataset: Dataset) -> type[BaseModel]:
    """`{"data": [rows], "meta": {...}}` of a data endpoint."""
    return create_model(
        f"{dataset.model_name}Document", __base__=Strict,
        __doc__=f"{dataset.title}: one page of rows and what describes them.",
        data=(list[row_model(dataset)], Field(description="One row per combination of the "
                                              "group_by keys; one total row without group_by.")),
        meta=(meta_model(dataset), Field(description="What the figures are.")))


DATA_DOCUMENTS: dict[str, type[BaseModel]] = {name: document_model(dataset)
                                              for name, dataset in DATASETS.items()}
