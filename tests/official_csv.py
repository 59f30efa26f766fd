"""Independent figures from the official CSV files (csv module only, no app code).

Where several releases cover a month, the month is taken from the file whose data run latest, as
SOURCES.md and the ingest define the current figure; the OHSS sector series is its own file.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

CBP_MONTHS = ["OCT", "NOV", "DEC", "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP"]
OCT_2021_TO_APR_2022 = frozenset(
    dt.date(2021 + (m < 10), m, 1) for m in (10, 11, 12, 1, 2, 3, 4))


def fiscal_month(fiscal_year: int, position: int) -> dt.date:
    """The calendar month of a fiscal year's n-th month (0 = October)."""
    month = (position + 9) % 12 + 1
    return dt.date(fiscal_year - 1 if month >= 10 else fiscal_year, month, 1)


def fiscal_year_months(fiscal_year: int) -> frozenset[dt.date]:
    return frozenset(fiscal_month(fiscal_year, i) for i in range(12))


@cache
def _read(path: Path) -> tuple[dict[str, str], ...]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return tuple(csv.DictReader(handle))


def current_rows(data_dir: Path, pattern: str,
                 month_of: Callable[[dict[str, str]], dt.date]) -> list[tuple[dt.date, dict]]:
    """(month, row) from the files matching `pattern`, each month from the file running latest."""
    return rows_as_of(sorted(data_dir.glob(pattern)), month_of)


def rows_as_of(files: Iterable[Path],
               month_of: Callable[[dict[str, str]], dt.date]) -> list[tuple[dt.date, dict]]:
    """(month, row) as the data stood once `files` were loaded, in order: each month from the
    file whose data run latest (then start latest, then was loaded last)."""
    files = list(files)
    months = {f: {month_of(r) for r in _read(f)} for f in files}
    rank = {f: (max(months[f]), min(months[f]), i) for i, f in enumerate(files)}
    newest: dict[dt.date, Path] = {}
    for f in files:
        for month in months[f]:
            if month not in newest or rank[f] > rank[newest[month]]:
                newest[month] = f
    return [(month_of(r), r) for f in files for r in _read(f) if newest[month_of(r)] == f]


def seizure_cells(path: Path) -> dict[tuple, tuple[int, float]]:
    """(month, area, drug, component, region, land filter) -> (events, pounds) of one file."""
    month_of = cbp_month("FY")
    return {(month_of(r), r["Area of Responsibility"].strip().upper(), r["Drug Type"],
             r["Component"], r["Region"], r["Land Filter"]):
            (int(r["Count of Event"]), float(r["Sum Qty (lbs)"])) for r in _read(path)}


def cbp_month(year_column: str) -> Callable[[dict[str, str]], dt.date]:
    def month_of(row: dict[str, str]) -> dt.date:
        return fiscal_month(int(row[year_column][:4]), CBP_MONTHS.index(row["Month (abbv)"].upper()))
    return month_of


def seizure_lbs(data_dir: Path, *, months: Iterable[dt.date], drug: str = "Fentanyl",
                region: str | None = None, component: str | None = None,
                areas: Iterable[str] | None = None, measure: str = "Sum Qty (lbs)") -> float:
    """Sum a seizure column (pounds by default) over rows matching every given condition."""
    wanted, names = set(months), {a.upper() for a in areas} if areas else None
    total = 0.0
    for month, row in current_rows(data_dir, "cbp-drug-seizures-*.csv", cbp_month("FY")):
        if (month in wanted and row["Drug Type"] == drug
                and (region is None or row["Region"] == region)
                and (component is None or row["Component"] == component)
                and (names is None or row["Area of Responsibility"].upper() in names)):
            total += float(row[measure])
    return total


def southwest_encounters(data_dir: Path, *, months: Iterable[dt.date],
                         component: str | None = None) -> int:
    """CBP Southwest land border encounters (the sbo-encounters files)."""
    wanted = set(months)
    return int(sum(float(row["Encounter Count"]) for month, row in
                   current_rows(data_dir, "cbp-sw-encounters-*.csv", cbp_month("Fiscal Year"))
                   if month in wanted and (component is None or row["Component"] == component)))


def state_encounters(data_dir: Path, *, months: Iterable[dt.date],
                     states: Iterable[str] | None = None,
                     region: str = "Southwest Land Border") -> int:
    """CBP encounters by state (the nationwide -state file)."""
    wanted, codes = set(months), set(states) if states else None
    return int(sum(float(row["Encounter Count"]) for month, row in
                   current_rows(data_dir, "cbp-encounters-by-state-*.csv",
                                cbp_month("Fiscal Year"))
                   if month in wanted and row["Land Border Region"] == region
                   and (codes is None or row["State"] in codes)))


def ohss_sector_encounters(data_dir: Path, *, months: Iterable[dt.date],
                           sectors: Iterable[str] | None = None,
                           region: str = "Southwest Land Border") -> int:
    """DHS OHSS Border Patrol encounters by sector; sectors as written, e.g. 'El Paso, TX'."""
    wanted, names = set(months), set(sectors) if sectors else None
    total = 0
    for row in _read(data_dir / "ohss-usbp-encounters-monthly-sector.csv"):
        month = fiscal_month(int(row["Fiscal Year"]), int(row["Month"][:2]) - 1)
        if month in wanted and row["Region"] == region and (names is None or row["Sector"] in names):
            total += int(float(row["Quantity"]))
    return total


def us_overdose_deaths(data_dir: Path, year: int) -> int:
    """NCHS final count of US drug overdose deaths in a calendar year."""
    for row in _read(data_dir / "cdc-overdose-deaths-us-2011-2021.csv"):
        if int(row["year"]) == year:
            return int(row["Total Overdose Deaths"])
    raise KeyError(year)
