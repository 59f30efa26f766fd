"""The documents of /drugs, /areas, /releases, /datasets, /seizure-events and the index at /."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.api.schemas.common import (
    DATA_VERSION,
    MonthsSummed,
    ReleaseSummary,
    Strict,
    YearCoverage,
)
from app.datasets import DATASETS, GRAIN_DESCRIPTIONS

DatasetName = Literal[tuple(DATASETS)]  # type: ignore[valid-type]
GrainName = Literal[tuple(GRAIN_DESCRIPTIONS)]  # type: ignore[valid-type]


class Drug(Strict):
    """A drug type of the seizure data."""

    slug: str = Field(description="The value to filter by, e.g. `fentanyl`.")
    name: str = Field(description="Display name.")
    source_name: str = Field(description="CBP's own name for it.")
    aliases: list[str] = Field(description="Other spellings accepted as filters.")


class RowCountMeta(Strict):
    row_count: int = Field(description="Rows in `data`.", ge=0)


class DrugsDocument(Strict):
    """Every drug type."""

    data: list[Drug]
    meta: RowCountMeta


class Area(Strict):
    """An area of responsibility: an OFO field office or a Border Patrol sector."""

    slug: str = Field(description="The value to filter by, e.g. `tucson-field-office`.")
    name: str = Field(description="Official name.")
    kind: Literal["field_office", "sector"] = Field(description="`field_office` (OFO, ports of "
                                                    "entry) or `sector` (Border Patrol).")
    component: str = Field(description="`OFO` or `USBP`.")
    region: str | None = Field(description="Southwest Border, Northern Border or "
                               "Coastal/Interior, as the data label the area; null when no "
                               "data name it.")
    states: list[str] = Field(description="Two-letter state codes (see `state_basis`).")
    state_basis: str = Field(description="`coverage`: every state the area covers; otherwise "
                             "only the state of its headquarters.")
    abbreviation: str | None = Field(description="CBP's abbreviation, if any (RGV).")
    aliases: list[str] = Field(description="Other spellings accepted as filters.")
    ports_of_entry: list[str] = Field(description="Land ports of entry a Southwest field office "
                                      "counts (CBP publishes no figure per port).")
    note: str | None = Field(description="What to know about the area; null when nothing.")


class FilteredMeta(Strict):
    row_count: int = Field(description="Rows in `data`.", ge=0)
    filters: dict[str, str] = Field(description="The filters given, as written.")


class AreasDocument(Strict):
    """Areas of responsibility matching the filters."""

    data: list[Area]
    meta: FilteredMeta


class Release(ReleaseSummary):
    """A loaded release and what it did to earlier ones."""

    dataset: DatasetName = Field(description="The dataset it belongs to.")
    row_count: int = Field(description="Rows read from the file.", ge=0)
    grain: Literal["month", "year"] = Field(description="`month` or `year`.")
    dimensions: list[str] = Field(description="The dimensions its rows carry.")
    citation: str | None = Field(description="How to cite figures the project ships as "
                                 "reference facts; null for files.")
    periods_new: int = Field(description="Periods no earlier release held.", ge=0)
    periods_revised: int = Field(description="Periods whose figures it changed.", ge=0)
    periods_unchanged: int = Field(description="Periods it re-published unchanged.", ge=0)
    periods_superseded: int = Field(description="Its periods a newer release now answers for.",
                                    ge=0)
    revised_periods: list[str] = Field(description="The periods it revised.")
    superseded_periods: list[str] = Field(description="Its periods superseded since.")
    current_periods: int = Field(description="Periods it currently answers for.", ge=0)


class VersionMeta(Strict):
    row_count: int = Field(description="Rows in `data`.", ge=0)
    data_version: int = Field(description=DATA_VERSION)


class ReleasesDocument(Strict):
    """Every loaded release, newest first."""

    data: list[Release]
    meta: VersionMeta


class MeasureListing(Strict):
    """A measure with its unit."""

    name: str
    unit: str = Field(description="Unit of the figures.")
    description: str


class DimensionListing(Strict):
    """A dimension: the names it is asked by and the values it accepts."""

    name: str
    synonyms: list[str] = Field(description="Other parameter names for it (port, sector).")
    description: str
    values: list[str] = Field(description="Canonical values in the loaded data (or the "
                                    "fixed vocabulary).")


class GrainListing(Strict):
    """A time grain of group_by."""

    name: GrainName
    description: str


class CatchAll(Strict):
    """A family's catch-all bucket and what it stands for."""

    dimension: str
    value: str = Field(description="The bucket's label, e.g. `OTHER (cbp-sw-encounters)`.")
    slug: str
    definition: str = Field(description="The values it groups.")


class SourceListing(Strict):
    """A release family: the dimensions and values it carries, the months it covers."""

    key: str
    title: str
    dimensions: list[str]
    only_region: list[str] | None = Field(description="The only regions it covers; null: all.")
    only_component: list[str] | None = Field(description="The only components it covers; "
                                             "null: all.")
    exact: bool = Field(description="False for a family that rounds its figures.")
    caveat: str | None
    loaded: bool = Field(description="Whether any release of it is loaded.")
    coverage: MonthsSummed | None = Field(description="The months it covers; null when not "
                                          "loaded.")
    values: dict[str, list[str]] = Field(description="Dimension -> the values its current "
                                         "releases carry.")
    catch_all: list[CatchAll]


class DatasetListing(Strict):
    """What a data endpoint offers."""

    name: DatasetName
    path: str = Field(description="Its endpoint.")
    title: str
    description: str
    measures: list[MeasureListing]
    dimensions: list[DimensionListing]
    grains: list[GrainListing]
    sources: list[SourceListing]
    coverage: YearCoverage | None = Field(None, description="Annual datasets: the years loaded "
                                          "(monthly ones give coverage per source).")


class DatasetsDocument(Strict):
    """Every dataset: measures, dimensions, grains, sources and coverage."""

    data: list[DatasetListing]
    meta: VersionMeta


class SeizureEvent(Strict):
    """A single seizure reported at a named port (an event, not a statistic)."""

    slug: str
    event_date: str = Field(description="YYYY-MM-DD (see `date_precision`).",
                            pattern=r"^\d{4}-\d{2}-\d{2}$")
    date_precision: Literal["day", "month"] = Field(description="`month`: only the month is "
                                                    "known (the date is its first day).")
    place: str
    port_of_entry: str
    area: str | None = Field(description="The field office's slug.")
    state: str
    drug: str | None = Field(description="The drug's slug.")
    quantity_lbs: float = Field(description="Pounds seized, as reported.",
                                json_schema_extra={"x-unit": "lb"})
    quantity_qualifier: str | None = Field(description="How the quantity was worded (`nearly`).")
    reported_value_usd: int | None = Field(description="Street value as reported, US dollars.",
                                           json_schema_extra={"x-unit": "USD"})
    value_qualifier: str | None
    description: str
    source: str = Field(description="Who reported it.")
    source_url: str | None


class SeizureEventsDocument(Strict):
    """Reported single seizures matching the filters."""

    data: list[SeizureEvent]
    meta: FilteredMeta


class IndexEndpoint(Strict):
    path: str
    method: str
    summary: str


class Index(Strict):
    docs: str = Field(description="Swagger UI.")
    redoc: str = Field(description="ReDoc.")
    openapi: str = Field(description="This document.")
    endpoints: list[IndexEndpoint]


class IndexDocument(Strict):
    """The documentation URLs and every operation."""

    data: Index
