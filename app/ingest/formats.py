"""Every official file format the ingest reads: its header, its dataset and where its periods are.

A format is recognised by its header alone (see ../shared/data/FORMATS.md); app/ingest/parsers.py
holds how each layout's rows convert.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.ingest import normalize as n


@dataclass(frozen=True)
class FileFormat:
    """One official layout: exact header, what it holds, how its rows parse."""

    key: str
    dataset: str
    title: str
    publisher: str
    origin_url: str
    columns: tuple[str, ...]
    grain: str = "month"
    optional: frozenset[str] = field(default_factory=frozenset)
    dimensions: tuple[str, ...] = ()
    # Releases sharing a revision key describe the same figures: a newer one revises an older.
    revision_key: str = ""
    sheet: str | None = None
    year_column: str = ""  # the column a period's year comes from (named by the date checks)
    month_column: str = ""

    def header_key(self) -> tuple[str, ...]:
        return tuple(header_cell(c) for c in self.columns)


def header_cell(text: object) -> str:
    """Normalise a header cell for matching: BOM, line breaks, spacing and case don't count."""
    return n.squash(str(text or "").replace("\ufeff", "")).casefold()

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
        year_column="FY",
        month_column="Month (abbv)",
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
        year_column="Fiscal Year",
        month_column="Month (abbv)",
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
        year_column="Fiscal Year",
        month_column="Month (abbv)",
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
        year_column="Fiscal Year",
        month_column="Month (abbv)",
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
        year_column="Fiscal Year",
        month_column="Month",
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
        year_column="year",
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
        year_column="Year",
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
        year_column="YEAR",
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
