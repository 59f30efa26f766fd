"""How each official layout's text columns become the dataset's typed columns (with polars).

Each parser converts a file's columns one distinct value at a time (app/ingest/columns.py) into
OUTPUT_COLUMNS; the loader then resolves areas and drugs to ids. Kept apart from formats.py, which
the read side imports for titles, so that only the writers load polars.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import polars as pl

from app.datasets import DATASETS
from app.datasets.shapes import AREA_PARSED
from app.ingest import normalize as n
from app.ingest.columns import Columns
from app.ingest.formats import FileFormat
from app.vocabulary import catch_all


class AreaRef(NamedTuple):
    """An area of responsibility as a file names it, before it is matched to the reference."""

    name: str
    kind: str
    component: str
    abbreviation: str | None = None
    state_hint: str | None = None


@dataclass(frozen=True)
class ParseOptions:
    """What a parse may accept beyond the format itself."""

    known_states: frozenset[str] | None = None  # None: any 2-letter code


# The converted columns every parsed frame of a dataset has (besides `line`), and their types:
# what the registry says an ingest parses (app/datasets, Dataset.parsed_columns).
POLARS_TYPES: dict[str, pl.DataType] = {"date": pl.Date, "int": pl.Int64, "float": pl.Float64,
                                        "str": pl.String}
AREA_COLUMNS = dict.fromkeys(AREA_PARSED, pl.String)
OUTPUT_COLUMNS: dict[str, dict[str, pl.DataType]] = {
    name: {c: POLARS_TYPES[kind] for c, kind in dataset.parsed_columns.items()}
    for name, dataset in DATASETS.items()}


def record_key_columns(dataset: str) -> list[str]:
    """The columns that identify a figure in a release (its period and dimensions)."""
    found = DATASETS[dataset]
    return [found.time.column,
            *(c for dim in found.stored_dimensions for c in dim.shape.parsed_columns)]



def _area_from_aor(raw: str, component: str, abbreviation: str | None = None) -> AreaRef:
    name = n.fits(n.title_case_area(raw), n.AREA_NAME_LENGTH - len(" Field Office"),
                  "area of responsibility")
    if not name:
        raise ValueError("area of responsibility is empty")
    upper = name.upper()
    if upper.endswith("FIELD OFFICE"):
        kind = "field_office"
    elif upper.endswith("SECTOR"):
        kind = "sector"
    else:
        kind = "field_office" if component == "OFO" else "sector"
        name = f"{name} {'Field Office' if kind == 'field_office' else 'Sector'}"
    return AreaRef(name=name, kind=kind, component=component, abbreviation=abbreviation)


def _abbreviation(raw: str) -> str | None:
    return n.fits(n.squash(raw), n.AREA_ABBREVIATION_LENGTH, "AOR abbreviation") or None


def _area_from_ohss_sector(raw: str) -> AreaRef:
    text = n.squash(raw)
    place, _, state = text.rpartition(",")
    if not place or len(state.strip()) != 2:
        raise ValueError(f"sector {n.shown(raw)} is not of the form 'Rio Grande Valley, TX'")
    return AreaRef(
        name=f"{n.fits(n.title_case_area(place), n.AREA_NAME_LENGTH - 7, 'sector')} Sector",
        kind="sector",
        component="USBP",
        state_hint=state.strip().upper(),
    )


# --- shared steps ------------------------------------------------------------------------------

def _coded(cols: Columns, column: str, table: dict[str, str], what: str, out: str) -> None:
    cols.convert(column, lambda v: n.lookup(table, v, what), out, pl.String)


def _count(cols: Columns, column: str, out: str, limit: int, what: str) -> None:
    cols.convert(column, lambda v: n.at_most(n.count(v), limit, what), out, pl.Int64)


def _fiscal_period(cols: Columns, year_column: str, month_column: str,
                   month: Callable[[str], int] = n.month_abbreviation) -> None:
    cols.convert(year_column, n.fiscal_year, "fiscal_year", pl.Int64)
    cols.convert(month_column, month, "__month", pl.Int64)
    fy, number = pl.col("fiscal_year"), pl.col("__month")
    cols.frame = cols.frame.with_columns(
        pl.date(pl.when(number >= 10).then(fy - 1).otherwise(fy), number, 1).alias("period"))


def _area(cols: Columns, column: str, abbreviation_column: str | None) -> None:
    if abbreviation_column:
        cols.convert(abbreviation_column, _abbreviation, "area_abbreviation", pl.String)
    else:
        cols.frame = cols.frame.with_columns(pl.lit(None, pl.String).alias("area_abbreviation"))
    cols.frame = cols.frame.with_columns(pl.col("area_abbreviation").fill_null("").alias("__abbv"))
    cols.derive([cols.raw(column), "component", "__abbv"],
                lambda raw, component, abbv: tuple(_area_from_aor(raw, component, abbv or None))[:3],
                {"area_name": pl.String, "area_kind": pl.String, "area_component": pl.String},
                column=column)
    cols.frame = cols.frame.with_columns(pl.lit(None, pl.String).alias("area_state_hint"))


def _no_area(cols: Columns) -> None:
    cols.frame = cols.frame.with_columns(pl.lit(None, pl.String).alias(c) for c in AREA_COLUMNS)


def _encountered(cols: Columns, citizenship_column: str, family: str) -> None:
    """What every CBP encounter layout records: who, under which title, how many."""
    _coded(cols, "Demographic", n.DEMOGRAPHICS, "demographic", "demographic")
    cols.convert(citizenship_column, lambda v: catch_all(n.citizenship(v), family),
                 "citizenship", pl.String)
    _coded(cols, "Title of Authority", n.TITLES, "title", "title_of_authority")
    _count(cols, "Encounter Count", "encounter_count", n.MAX_ENCOUNTERS, "encounter count")


def _constant(cols: Columns, **values: str | None) -> None:
    cols.frame = cols.frame.with_columns(pl.lit(v, pl.String).alias(k) for k, v in values.items())


# --- CBP nationwide drug seizures ---------------------------------------------------------------

def _parse_seizure(cols: Columns, _options: ParseOptions) -> None:
    _fiscal_period(cols, "FY", "Month (abbv)")
    _coded(cols, "Component", n.COMPONENTS, "component", "component")
    _area(cols, "Area of Responsibility", "AOR (Abbv)" if cols.has("AOR (Abbv)") else None)
    cols.convert("Drug Type", _drug_name, "drug", pl.String)
    _coded(cols, "Region", n.REGIONS, "region", "region")
    _coded(cols, "Land Filter", n.LAND_FILTERS, "land filter", "land_filter")
    _count(cols, "Count of Event", "event_count", n.MAX_EVENTS, "event count")
    cols.convert("Sum Qty (lbs)", lambda v: n.at_most(n.quantity(v), n.MAX_POUNDS, "quantity (lbs)"),
                 "quantity_lbs", pl.Float64)


def _drug_name(raw: str) -> str:
    name = n.squash(raw)
    if not name:
        raise ValueError("drug type is empty")
    return n.fits(name, n.DRUG_NAME_LENGTH, "drug type")


# --- CBP encounters (three layouts) -------------------------------------------------------------

def _parse_sw_encounter(cols: Columns, _options: ParseOptions) -> None:
    _fiscal_period(cols, "Fiscal Year", "Month (abbv)")
    _coded(cols, "Component", n.COMPONENTS, "component", "component")
    _coded(cols, "Encounter Type", n.ENCOUNTER_TYPES, "encounter type", "encounter_type")
    _encountered(cols, "Citizenship Grouping", "cbp-sw-encounters")
    _constant(cols, region="Southwest Border", state=None)
    _no_area(cols)


def _parse_state_encounter(cols: Columns, options: ParseOptions) -> None:
    _fiscal_period(cols, "Fiscal Year", "Month (abbv)")
    _coded(cols, "Land Border Region", n.REGIONS, "region", "region")
    cols.convert("State", lambda v: n.state_code(v, options.known_states), "state", pl.String)
    _encountered(cols, "Citizenship", "cbp-state-encounters")
    _constant(cols, component=None, encounter_type=None)
    _no_area(cols)


def _parse_aor_encounter(cols: Columns, _options: ParseOptions) -> None:
    _fiscal_period(cols, "Fiscal Year", "Month (abbv)")
    _coded(cols, "Component", n.COMPONENTS, "component", "component")
    _coded(cols, "Land Border Region", n.REGIONS, "region", "region")
    _area(cols, "Area of Responsibility", "AOR (Abbv)")
    _coded(cols, "Encounter Type", n.ENCOUNTER_TYPES, "encounter type", "encounter_type")
    _encountered(cols, "Citizenship", "cbp-aor-encounters")
    _constant(cols, state=None)


def _parse_ohss_sector(cols: Columns, _options: ParseOptions) -> None:
    _fiscal_period(cols, "Fiscal Year", "Month", n.ohss_month)
    _coded(cols, "Region", n.REGIONS, "region", "region")
    cols.derive([cols.raw("Sector")], lambda v: tuple(_area_from_ohss_sector(v)), AREA_COLUMNS,
                column="Sector")
    _count(cols, "Quantity", "encounter_count", n.MAX_ENCOUNTERS, "encounter count")
    _constant(cols, component="USBP", state=None, demographic=None, citizenship=None,
              title_of_authority=None, encounter_type=None)


# --- CDC / NCHS overdose deaths -----------------------------------------------------------------

TOTAL_CATEGORY = "Total"
_CATEGORY_NAMES = {
    "TOTAL OVERDOSE DEATHS": TOTAL_CATEGORY,
    "SYNTHETIC OPIOIDS(PRIMARILY FENTANYL)": "Synthetic Opioids (primarily fentanyl)",
}
_SEXES = {"FEMALE": "female", "MALE": "male"}


def _category(raw: str) -> str:
    name = n.squash(raw)
    if not name:
        raise ValueError("category is empty")
    return n.fits(_CATEGORY_NAMES.get(name.upper(), name), n.CATEGORY_LENGTH, "category")


def _deaths(cols: Columns, column: str) -> None:
    _count(cols, column, "deaths", n.MAX_DEATHS, "deaths")


def _parse_us_deaths(cols: Columns, _options: ParseOptions) -> None:
    cols.convert("year", n.calendar_year, "year", pl.Int64)
    _deaths(cols, "Total Overdose Deaths")
    _constant(cols, state=None, category=TOTAL_CATEGORY, sex="all")
    cols.frame = cols.frame.with_columns(pl.lit(None, pl.Float64).alias("rate"))


def _parse_us_deaths_by_drug(cols: Columns, _options: ParseOptions) -> None:
    cols.convert("Year", n.calendar_year, "year", pl.Int64)
    cols.convert("Category", _category, "__category", pl.String)
    # Female / Male rows break down the category row above them.
    named = pl.col("__category")
    sex = named.str.to_uppercase().replace_strict(_SEXES, default="all", return_dtype=pl.String)
    cols.frame = cols.frame.with_columns(sex.alias("sex")).with_columns(
        pl.when(pl.col("sex") == "all").then(named).otherwise(None).forward_fill().alias("category"))
    cols.check(pl.when((pl.col("sex") != "all") & pl.col("category").is_null())
               .then(pl.concat_str(pl.lit("'"), named, pl.lit("' row has no category row above it"))),
               column="Category")
    _deaths(cols, "Deaths")
    _constant(cols, state=None)
    cols.frame = cols.frame.with_columns(pl.lit(None, pl.Float64).alias("rate"))


def _parse_state_deaths(cols: Columns, options: ParseOptions) -> None:
    cols.convert("YEAR", n.calendar_year, "year", pl.Int64)
    cols.convert("STATE", lambda v: n.state_code(v, options.known_states), "state", pl.String)
    _deaths(cols, "DEATHS")
    cols.convert("RATE", lambda v: n.at_most(n.quantity(v), n.MAX_RATE, "rate"), "rate", pl.Float64)
    _constant(cols, category=TOTAL_CATEGORY, sex="all")


PARSERS: dict[str, Callable[[Columns, ParseOptions], None]] = {
    "cbp-seizures": _parse_seizure,
    "cbp-sw-encounters": _parse_sw_encounter,
    "cbp-state-encounters": _parse_state_encounter,
    "cbp-aor-encounters": _parse_aor_encounter,
    "ohss-sector-encounters": _parse_ohss_sector,
    "cdc-us-deaths": _parse_us_deaths,
    "cdc-us-deaths-by-drug": _parse_us_deaths_by_drug,
    "cdc-state-deaths": _parse_state_deaths,
}


def parse(fmt: FileFormat, cols: Columns, options: ParseOptions) -> None:
    """Convert `cols` (a file in layout `fmt`) into the dataset's OUTPUT_COLUMNS, recording checks."""
    PARSERS[fmt.key](cols, options)
