"""Every official file format the ingest reads: its header, its dataset and how a row parses.

A format is recognised by its header alone (see ../shared/data/FORMATS.md). Each parser turns one
row into a typed record with canonical values; the loader resolves areas and drugs to ids.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from app.ingest import normalize as n
from app.ingest.errors import FieldError


class AreaRef(NamedTuple):
    """An area of responsibility as a file names it, before it is matched to the reference."""

    name: str
    kind: str
    component: str
    abbreviation: str | None = None
    state_hint: str | None = None


class SeizureRecord(NamedTuple):
    period: dt.date
    fiscal_year: int
    area: AreaRef
    component: str
    region: str
    land_filter: str
    drug: str
    event_count: int
    quantity_lbs: float


class EncounterRecord(NamedTuple):
    period: dt.date
    fiscal_year: int
    component: str | None
    region: str | None
    area: AreaRef | None
    state: str | None
    demographic: str | None
    citizenship: str | None
    title_of_authority: str | None
    encounter_type: str | None
    encounter_count: int


class DeathRecord(NamedTuple):
    year: int
    state: str | None
    category: str
    sex: str
    deaths: int
    rate: float | None


Row = dict[str, str]
Parser = Callable[[Row, dict[str, Any]], NamedTuple]


@dataclass(frozen=True)
class FileFormat:
    """One official layout: exact header, what it holds, how its rows parse."""

    key: str
    dataset: str
    title: str
    publisher: str
    origin_url: str
    columns: tuple[str, ...]
    parse: Parser
    grain: str = "month"
    optional: frozenset[str] = field(default_factory=frozenset)
    dimensions: tuple[str, ...] = ()
    # Releases sharing a revision key describe the same figures: a newer one revises an older.
    revision_key: str = ""
    sheet: str | None = None

    def header_key(self) -> tuple[str, ...]:
        return tuple(header_cell(c) for c in self.columns)


def header_cell(text: object) -> str:
    """Normalise a header cell for matching: BOM, line breaks, spacing and case don't count."""
    return n.squash(str(text or "").replace("\ufeff", "")).casefold()


def _get(row: Row, column: str, convert: Callable[[str], Any]) -> Any:
    try:
        return convert(row[column])
    except ValueError as exc:
        raise FieldError(column, str(exc)) from None


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
        raise ValueError(f"sector {raw!r} is not of the form 'Rio Grande Valley, TX'")
    return AreaRef(
        name=f"{n.fits(n.title_case_area(place), n.AREA_NAME_LENGTH - 7, 'sector')} Sector",
        kind="sector",
        component="USBP",
        state_hint=state.strip().upper(),
    )


# --- CBP nationwide drug seizures ---------------------------------------------------------------

def _parse_seizure(row: Row, _ctx: dict[str, Any]) -> SeizureRecord:
    fy = _get(row, "FY", n.fiscal_year)
    month = _get(row, "Month (abbv)", n.month_abbreviation)
    component = _get(row, "Component", lambda v: n.lookup(n.COMPONENTS, v, "component"))
    abbreviation = _get(row, "AOR (Abbv)", _abbreviation) if "AOR (Abbv)" in row else None
    area = _get(row, "Area of Responsibility", lambda v: _area_from_aor(v, component, abbreviation))
    drug = _get(row, "Drug Type", _drug_name)
    return SeizureRecord(
        period=n.fiscal_month_start(fy, month),
        fiscal_year=fy,
        area=area,
        component=component,
        region=_get(row, "Region", lambda v: n.lookup(n.REGIONS, v, "region")),
        land_filter=_get(row, "Land Filter", lambda v: n.lookup(n.LAND_FILTERS, v, "land filter")),
        drug=drug,
        event_count=_get(row, "Count of Event", n.count),
        quantity_lbs=_get(row, "Sum Qty (lbs)", n.quantity),
    )


def _drug_name(raw: str) -> str:
    name = n.squash(raw)
    if not name:
        raise ValueError("drug type is empty")
    return n.fits(name, n.DRUG_NAME_LENGTH, "drug type")


# --- CBP encounters (three layouts) -------------------------------------------------------------

def _period(row: Row, month_column: str = "Month (abbv)") -> tuple[int, dt.date]:
    fy = _get(row, "Fiscal Year", n.fiscal_year)
    month = _get(row, month_column, n.month_abbreviation)
    return fy, n.fiscal_month_start(fy, month)


def _coded(row: Row, column: str, table: dict[str, str], what: str) -> str:
    return _get(row, column, lambda v: n.lookup(table, v, what))


def _encountered(row: Row, citizenship_column: str, family: str) -> dict[str, Any]:
    """What every CBP encounter layout records: who, under which title, how many."""
    return {
        "demographic": _coded(row, "Demographic", n.DEMOGRAPHICS, "demographic"),
        "citizenship": n.family_catch_all(_get(row, citizenship_column, n.citizenship), family),
        "title_of_authority": _coded(row, "Title of Authority", n.TITLES, "title"),
        "encounter_count": _get(row, "Encounter Count", n.count),
    }


def _parse_sw_encounter(row: Row, _ctx: dict[str, Any]) -> EncounterRecord:
    fy, period = _period(row)
    return EncounterRecord(
        period=period, fiscal_year=fy,
        component=_coded(row, "Component", n.COMPONENTS, "component"),
        region="Southwest Border", area=None, state=None,
        encounter_type=_coded(row, "Encounter Type", n.ENCOUNTER_TYPES, "encounter type"),
        **_encountered(row, "Citizenship Grouping", "cbp-sw-encounters"),
    )


def _parse_state_encounter(row: Row, _ctx: dict[str, Any]) -> EncounterRecord:
    fy, period = _period(row)
    return EncounterRecord(
        period=period, fiscal_year=fy, component=None,
        region=_coded(row, "Land Border Region", n.REGIONS, "region"),
        area=None, state=_get(row, "State", n.state_code), encounter_type=None,
        **_encountered(row, "Citizenship", "cbp-state-encounters"),
    )


def _parse_aor_encounter(row: Row, _ctx: dict[str, Any]) -> EncounterRecord:
    fy, period = _period(row)
    component = _coded(row, "Component", n.COMPONENTS, "component")
    abbreviation = _get(row, "AOR (Abbv)", _abbreviation)
    return EncounterRecord(
        period=period, fiscal_year=fy, component=component,
        region=_coded(row, "Land Border Region", n.REGIONS, "region"),
        area=_get(row, "Area of Responsibility",
                  lambda v: _area_from_aor(v, component, abbreviation)),
        state=None,
        encounter_type=_coded(row, "Encounter Type", n.ENCOUNTER_TYPES, "encounter type"),
        **_encountered(row, "Citizenship", "cbp-aor-encounters"),
    )


def _parse_ohss_sector(row: Row, _ctx: dict[str, Any]) -> EncounterRecord:
    fy = _get(row, "Fiscal Year", n.fiscal_year)
    month = _get(row, "Month", n.ohss_month)
    return EncounterRecord(
        period=n.fiscal_month_start(fy, month),
        fiscal_year=fy,
        component="USBP",
        region=_get(row, "Region", lambda v: n.lookup(n.REGIONS, v, "region")),
        area=_get(row, "Sector", _area_from_ohss_sector),
        state=None,
        demographic=None,
        citizenship=None,
        title_of_authority=None,
        encounter_type=None,
        encounter_count=_get(row, "Quantity", n.count),
    )


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


def _parse_us_deaths(row: Row, _ctx: dict[str, Any]) -> DeathRecord:
    return DeathRecord(
        year=_get(row, "year", n.calendar_year),
        state=None,
        category=TOTAL_CATEGORY,
        sex="all",
        deaths=_get(row, "Total Overdose Deaths", n.count),
        rate=None,
    )


def _parse_us_deaths_by_drug(row: Row, ctx: dict[str, Any]) -> DeathRecord:
    year = _get(row, "Year", n.calendar_year)
    category = _get(row, "Category", _category)
    sex = _SEXES.get(category.upper())
    if sex is None:
        ctx["category"] = category
        sex = "all"
    else:
        # Female / Male rows break down the category row above them.
        if "category" not in ctx:
            raise FieldError("Category", f"{category!r} row has no category row above it")
        category = ctx["category"]
    return DeathRecord(
        year=year,
        state=None,
        category=category,
        sex=sex,
        deaths=_get(row, "Deaths", n.count),
        rate=None,
    )


def _parse_state_deaths(row: Row, _ctx: dict[str, Any]) -> DeathRecord:
    return DeathRecord(
        year=_get(row, "YEAR", n.calendar_year),
        state=_get(row, "STATE", n.state_code),
        category=TOTAL_CATEGORY,
        sex="all",
        deaths=_get(row, "DEATHS", n.count),
        rate=_get(row, "RATE", n.quantity),
    )


_CBP = "U.S. Customs and Border Protection"
_CDC = "CDC National Center for Health Statistics"

FORMATS: tuple[FileFormat, ...] = (
    FileFormat(
        key="cbp-seizures",
        dataset="seizures",
        title="CBP Nationwide Drug Seizures",
        publisher=_CBP,
        origin_url="https://www.cbp.gov/newsroom/stats/drug-seizure-statistics",
        columns=("FY", "Month (abbv)", "Component", "Region", "Land Filter",
                 "Area of Responsibility", "AOR (Abbv)", "Drug Type", "Count of Event",
                 "Sum Qty (lbs)"),
        optional=frozenset({"AOR (Abbv)"}),
        parse=_parse_seizure,
        dimensions=("drug", "area", "component", "region", "land_filter"),
        revision_key="cbp-seizures",
    ),
    FileFormat(
        key="cbp-sw-encounters",
        dataset="encounters",
        title="CBP Southwest Land Border Encounters",
        publisher=_CBP,
        origin_url="https://www.cbp.gov/document/stats/southwest-land-border-encounters",
        columns=("Fiscal Year", "Month Grouping", "Month (abbv)", "Component", "Demographic",
                 "Citizenship Grouping", "Title of Authority", "Encounter Type",
                 "Encounter Count"),
        parse=_parse_sw_encounter,
        dimensions=("component", "region", "demographic", "citizenship", "title_of_authority",
                    "encounter_type"),
        revision_key="cbp-sw-encounters",
    ),
    FileFormat(
        key="cbp-state-encounters",
        dataset="encounters",
        title="CBP Nationwide Encounters, by state",
        publisher=_CBP,
        origin_url="https://www.cbp.gov/document/stats/nationwide-encounters",
        columns=("Fiscal Year", "Month Grouping", "Month (abbv)", "Land Border Region", "State",
                 "Demographic", "Citizenship", "Title of Authority", "Encounter Count"),
        parse=_parse_state_encounter,
        dimensions=("region", "state", "demographic", "citizenship", "title_of_authority"),
        revision_key="cbp-state-encounters",
    ),
    FileFormat(
        key="cbp-aor-encounters",
        dataset="encounters",
        title="CBP Nationwide Encounters, by area of responsibility",
        publisher=_CBP,
        origin_url="https://www.cbp.gov/document/stats/nationwide-encounters",
        columns=("Fiscal Year", "Month Grouping", "Month (abbv)", "Component",
                 "Land Border Region", "Area of Responsibility", "AOR (Abbv)", "Demographic",
                 "Citizenship", "Title of Authority", "Encounter Type", "Encounter Count"),
        parse=_parse_aor_encounter,
        dimensions=("component", "region", "area", "demographic", "citizenship",
                    "title_of_authority", "encounter_type"),
        revision_key="cbp-aor-encounters",
    ),
    FileFormat(
        key="ohss-sector-encounters",
        dataset="encounters",
        title="DHS OHSS KHSM CBP Encounters (USBP), monthly by region and sector",
        publisher="DHS Office of Homeland Security Statistics",
        origin_url="https://ohss.dhs.gov/khsm/cbp-encounters",
        columns=("Fiscal Year", "Month", "Region", "Sector", "Quantity"),
        parse=_parse_ohss_sector,
        dimensions=("component", "region", "area"),
        revision_key="ohss-sector-encounters",
        sheet="Monthly Rgn and Sector",
    ),
    FileFormat(
        key="cdc-us-deaths",
        dataset="overdose_deaths",
        title="NCHS drug overdose deaths, United States, by year",
        publisher=_CDC,
        origin_url="https://nida.nih.gov/research-topics/trends-statistics/overdose-death-rates",
        columns=("year", "Total Overdose Deaths"),
        parse=_parse_us_deaths,
        grain="year",
        dimensions=("category",),
    ),
    FileFormat(
        key="cdc-us-deaths-by-drug",
        dataset="overdose_deaths",
        title="NCHS (via NIDA) drug overdose deaths, United States, by drug category and sex",
        publisher=_CDC,
        origin_url="https://nida.nih.gov/research-topics/trends-statistics/overdose-death-rates",
        columns=("Category", "Year", "Deaths"),
        parse=_parse_us_deaths_by_drug,
        grain="year",
        dimensions=("category", "sex"),
    ),
    FileFormat(
        key="cdc-state-deaths",
        dataset="overdose_deaths",
        title="NCHS drug overdose mortality by state",
        publisher=_CDC,
        origin_url="https://www.cdc.gov/nchs/pressroom/sosmap/drug_poisoning_mortality/"
        "drug_poisoning.htm",
        columns=("YEAR", "STATE", "RATE", "DEATHS"),
        parse=_parse_state_deaths,
        grain="year",
        dimensions=("state", "category"),
    ),
)

FORMATS_BY_KEY = {f.key: f for f in FORMATS}


@dataclass(frozen=True)
class HeaderMatch:
    format: FileFormat
    positions: dict[str, int]  # canonical column -> index in the file's header


def match_header(header: list[str]) -> HeaderMatch | None:
    """Return the format whose exact header this is (optional columns may be absent)."""
    cells = [header_cell(c) for c in header]
    for fmt in FORMATS:
        expected = [c for c in fmt.columns]
        present = [c for c in expected if c not in fmt.optional or header_cell(c) in cells]
        if [header_cell(c) for c in present] == cells:
            return HeaderMatch(fmt, {c: i for i, c in enumerate(present)})
    return None


def closest_header_mismatch(header: list[str]) -> tuple[FileFormat, int, str]:
    """For an unknown header: the nearest format, the first differing column, what it expected."""
    cells = [header_cell(c) for c in header]
    best: tuple[int, FileFormat] | None = None
    for fmt in FORMATS:
        wanted = [header_cell(c) for c in fmt.columns if c not in fmt.optional]
        score = len(set(wanted) & set(cells))
        if best is None or score > best[0]:
            best = (score, fmt)
    assert best is not None
    fmt = best[1]
    wanted_cols = [c for c in fmt.columns if c not in fmt.optional]
    for i, col in enumerate(wanted_cols):
        if i >= len(cells) or cells[i] != header_cell(col):
            return fmt, i + 1, col
    return fmt, len(wanted_cols) + 1, "(no more columns)"
