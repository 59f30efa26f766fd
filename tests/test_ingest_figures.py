"""Exact figures of the fully ingested database, each recomputed here from the official file.

Expected values come from the CSV files themselves (csv module, as in SOURCES.md), taken from the
release that is current for the period: for a month present in several releases, the one whose
covered period ends latest. SOURCES.md's published spot checks are only an extra sanity check.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from functools import cache
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from app.models import Area, Drug, Encounter, OverdoseDeath, Release, Seizure

MONTHS = ("OCT", "NOV", "DEC", "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP")
CALENDAR_MONTH = {m: (i + 9) % 12 + 1 for i, m in enumerate(MONTHS)}  # OCT -> 10 ... SEP -> 9
SOUTHWEST_STATES = {"AZ", "CA", "NM", "TX"}


@cache
def rows_of(path: Path) -> tuple[dict[str, str], ...]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return tuple(csv.DictReader(handle))


def fiscal_year(text: str) -> int:
    return int(text.strip()[:4])


def covered_end(path: Path, fy_column: str, month_column: str) -> tuple[int, int]:
    """The last (fiscal year, month position) a CBP file covers."""
    return max((fiscal_year(r[fy_column]), MONTHS.index(r[month_column].strip().upper()))
               for r in rows_of(path))


def current_file(paths: list[Path], fy: int, fy_column: str, month_column: str) -> Path:
    """Of the files that contain fiscal year `fy`, the one whose covered period ends latest."""
    holding = [p for p in paths if any(fiscal_year(r[fy_column]) == fy for r in rows_of(p))]
    assert holding, f"no file holds FY{fy}"
    return max(holding, key=lambda p: covered_end(p, fy_column, month_column))


def seizure_files(data_dir: Path) -> list[Path]:
    return sorted(data_dir.glob("cbp-drug-seizures-*.csv"))


def current_seizure_rows(data_dir: Path, fy: int) -> list[dict[str, str]]:
    path = current_file(seizure_files(data_dir), fy, "FY", "Month (abbv)")
    return [r for r in rows_of(path) if fiscal_year(r["FY"]) == fy]


def current_seizures(*where):
    return (
        select(func.sum(Seizure.quantity_lbs), func.sum(Seizure.event_count), func.count())
        .join(Drug, Drug.id == Seizure.drug_id)
        .where(Seizure.is_current.is_(True), *where)
    )


# --- CBP drug seizures -----------------------------------------------------------------------------

def test_fy2021_fentanyl_nationwide_equals_the_current_release(loaded_engine, data_dir):
    rows = [r for r in current_seizure_rows(data_dir, 2021) if r["Drug Type"] == "Fentanyl"]
    expected_lbs = sum(float(r["Sum Qty (lbs)"]) for r in rows)
    expected_events = sum(int(r["Count of Event"]) for r in rows)
    with loaded_engine.connect() as conn:
        lbs, events, count = conn.execute(
            current_seizures(Seizure.fiscal_year == 2021, Drug.slug == "fentanyl")
        ).one()
    assert lbs == pytest.approx(expected_lbs, rel=1e-9)
    assert events == expected_events
    assert count == len(rows)
    assert round(lbs, 1) == 11201.3  # SOURCES.md spot check (CBP's published ~11,200 lbs)


def test_every_fiscal_year_and_drug_total_equals_the_current_release(loaded_engine, data_dir):
    expected: dict[tuple[int, str], list[float]] = defaultdict(lambda: [0.0, 0, 0])
    for fy in range(2019, 2027):
        for r in current_seizure_rows(data_dir, fy):
            cell = expected[(fy, r["Drug Type"])]
            cell[0] += float(r["Sum Qty (lbs)"])
            cell[1] += int(r["Count of Event"])
            cell[2] += 1
    with loaded_engine.connect() as conn:
        got = {
            (fy, drug): (lbs, events, n)
            for fy, drug, lbs, events, n in conn.execute(
                select(Seizure.fiscal_year, Drug.source_name, func.sum(Seizure.quantity_lbs),
                       func.sum(Seizure.event_count), func.count())
                .join(Drug, Drug.id == Seizure.drug_id)
                .where(Seizure.is_current.is_(True))
                .group_by(Seizure.fiscal_year, Drug.source_name)
            )
        }
    assert got.keys() == expected.keys()
    for key, (lbs, events, n) in expected.items():
        assert got[key][0] == pytest.approx(lbs, rel=1e-9), key
        assert got[key][1:] == (events, n), key
    fentanyl = {fy: round(got[(fy, "Fentanyl")][0], 1) for fy in (2019, 2022, 2023, 2026)}
    assert fentanyl == {2019: 2803.6, 2022: 14699.9, 2023: 27022.9, 2026: 3398.3}  # SOURCES.md


def test_fy2021_fentanyl_by_southwest_area_equals_the_current_release(loaded_engine, data_dir):
    expected: dict[str, float] = defaultdict(float)
    for r in current_seizure_rows(data_dir, 2021):
        if r["Drug Type"] == "Fentanyl" and r["Region"] == "Southwest Border":
            expected[r["Area of Responsibility"].strip().upper()] += float(r["Sum Qty (lbs)"])
    with loaded_engine.connect() as conn:
        got = {
            name.upper(): lbs
            for name, lbs in conn.execute(
                select(Area.name, func.sum(Seizure.quantity_lbs))
                .join(Area, Area.id == Seizure.area_id)
                .join(Drug, Drug.id == Seizure.drug_id)
                .where(Seizure.is_current.is_(True), Seizure.fiscal_year == 2021,
                       Drug.slug == "fentanyl", Seizure.region == "Southwest Border")
                .group_by(Area.name)
            )
        }
    assert got.keys() == expected.keys()
    for name, lbs in expected.items():
        assert got[name] == pytest.approx(lbs, rel=1e-9), name
    spot = {k: round(got[k], 1) for k in ("SAN DIEGO FIELD OFFICE", "TUCSON FIELD OFFICE",
                                          "LAREDO FIELD OFFICE", "SAN DIEGO SECTOR")}
    assert spot == {"SAN DIEGO FIELD OFFICE": 6354.3, "TUCSON FIELD OFFICE": 2268.2,
                    "LAREDO FIELD OFFICE": 588.4, "SAN DIEGO SECTOR": 413.1}


def test_current_seizure_rows_are_exactly_the_current_releases_rows(loaded_engine, data_dir):
    with loaded_engine.connect() as conn:
        got = dict(conn.execute(
            select(Seizure.fiscal_year, Release.file_name)
            .join(Release, Release.id == Seizure.release_id)
            .where(Seizure.is_current.is_(True))
            .group_by(Seizure.fiscal_year, Release.file_name)
        ).all())
        counts = dict(conn.execute(
            select(Seizure.fiscal_year, func.count()).where(Seizure.is_current.is_(True))
            .group_by(Seizure.fiscal_year)
        ).all())
    expected_files = {fy: current_file(seizure_files(data_dir), fy, "FY", "Month (abbv)").name
                      for fy in range(2019, 2027)}
    assert expected_files == {
        2019: "cbp-drug-seizures-fy19-fy22.csv",
        **dict.fromkeys(range(2020, 2023), "cbp-drug-seizures-fy20-fy23.csv"),
        **dict.fromkeys(range(2023, 2027), "cbp-drug-seizures-fy23-fy26-dec.csv"),
    }
    assert got == expected_files  # one release per fiscal year, and it is the current one
    assert counts == {fy: len(current_seizure_rows(data_dir, fy)) for fy in range(2019, 2027)}


# --- CBP encounters --------------------------------------------------------------------------------

def test_fy2022_southwest_encounters_by_state_equal_the_state_file(loaded_engine, data_dir):
    expected: dict[str, int] = defaultdict(int)
    for r in rows_of(data_dir / "cbp-encounters-by-state-fy20-fy23.csv"):
        if fiscal_year(r["Fiscal Year"]) == 2022 and r["Land Border Region"] == "Southwest Land Border":
            expected[r["State"]] += int(float(r["Encounter Count"]))
    with loaded_engine.connect() as conn:
        got = dict(conn.execute(
            select(Encounter.state, func.sum(Encounter.encounter_count))
            .where(Encounter.is_current.is_(True), Encounter.source == "cbp-state-encounters",
                   Encounter.fiscal_year == 2022, Encounter.region == "Southwest Border")
            .group_by(Encounter.state)
        ).all())
    assert got == dict(expected)
    assert set(got) == SOUTHWEST_STATES
    assert got == {"AZ": 571482, "CA": 330459, "NM": 143842, "TX": 1333161}  # SOURCES.md
    assert sum(got.values()) == 2378944


def test_fy2022_southwest_encounters_total_equals_the_current_sw_file(loaded_engine, data_dir):
    files = sorted(data_dir.glob("cbp-sw-encounters-*.csv"))
    path = current_file(files, 2022, "Fiscal Year", "Month (abbv)")
    assert path.name == "cbp-sw-encounters-fy22-fy25-aug.csv"
    expected: dict[str, int] = defaultdict(int)
    for r in rows_of(path):
        if fiscal_year(r["Fiscal Year"]) == 2022:
            expected[r["Component"]] += int(float(r["Encounter Count"]))
    with loaded_engine.connect() as conn:
        got = dict(conn.execute(
            select(Encounter.component, func.sum(Encounter.encounter_count))
            .where(Encounter.is_current.is_(True), Encounter.source == "cbp-sw-encounters",
                   Encounter.fiscal_year == 2022)
            .group_by(Encounter.component)
        ).all())
    assert got == {"OFO": expected["Office of Field Operations"],
                   "USBP": expected["U.S. Border Patrol"]}
    assert got == {"OFO": 172508, "USBP": 2206436}  # SOURCES.md: 2,378,944 in all


def test_every_fiscal_year_of_sw_encounters_equals_its_current_file(loaded_engine, data_dir):
    files = sorted(data_dir.glob("cbp-sw-encounters-*.csv"))
    expected = {}
    for fy in range(2019, 2026):
        path = current_file(files, fy, "Fiscal Year", "Month (abbv)")
        expected[fy] = sum(int(float(r["Encounter Count"])) for r in rows_of(path)
                           if fiscal_year(r["Fiscal Year"]) == fy)
    with loaded_engine.connect() as conn:
        got = dict(conn.execute(
            select(Encounter.fiscal_year, func.sum(Encounter.encounter_count))
            .where(Encounter.is_current.is_(True), Encounter.source == "cbp-sw-encounters")
            .group_by(Encounter.fiscal_year)
        ).all())
    assert got == expected
    assert got[2021] == 1734686 and got[2025] == 432059  # SOURCES.md


def test_ohss_fy2022_southwest_sectors_equal_the_sector_series(loaded_engine, data_dir):
    expected: dict[str, int] = defaultdict(int)
    for r in rows_of(data_dir / "ohss-usbp-encounters-monthly-sector.csv"):
        if fiscal_year(r["Fiscal Year"]) == 2022 and r["Region"] == "Southwest Land Border":
            place = r["Sector"].rsplit(",", 1)[0].strip()
            expected[f"{place} Sector"] += int(r["Quantity"])
    with loaded_engine.connect() as conn:
        got = dict(conn.execute(
            select(Area.name, func.sum(Encounter.encounter_count))
            .join(Area, Area.id == Encounter.area_id)
            .where(Encounter.is_current.is_(True), Encounter.source == "ohss-sector-encounters",
                   Encounter.fiscal_year == 2022, Encounter.region == "Southwest Border")
            .group_by(Area.name)
        ).all())
    assert got == dict(expected)
    assert len(got) == 9
    assert got["Del Rio Sector"] == 480940 and got["Rio Grande Valley Sector"] == 468120  # SOURCES.md
    assert sum(got.values()) == 2206520


REGIONS = {"Southwest Land Border": "Southwest Border", "Northern Land Border": "Northern Border",
           "Coastal Border": "Coastal/Interior"}


def sheet_rows(data_dir: Path) -> list[tuple]:
    """The sheet "Monthly Rgn and Sector" as (period, fiscal year, region, area slug, count)."""
    workbook = openpyxl.load_workbook(data_dir / "ohss-usbp-encounters-fy25m11.xlsx",
                                      read_only=True, data_only=True)
    try:
        header, *body = workbook["Monthly Rgn and Sector"].iter_rows(values_only=True)
    finally:
        workbook.close()
    assert [str(h).replace("\n", " ") for h in header] == \
        ["Fiscal Year", "Month", "Region", "Sector", "Quantity"]
    out = []
    for fy, month, region, sector, quantity in body:
        if fy is None:
            continue
        number = CALENDAR_MONTH[MONTHS[int(month.split()[0]) - 1]]
        period = dt.date(int(fy) - 1 if number >= 10 else int(fy), number, 1)
        place = sector.rsplit(",", 1)[0].strip().lower().replace(" ", "-")
        out.append((period, int(fy), REGIONS[region], f"{place}-sector", int(quantity)))
    return sorted(out)


def test_ohss_workbook_and_csv_releases_load_identical_rows(loaded_engine, data_dir):
    def rows(file_name: str) -> list[tuple]:
        with loaded_engine.connect() as conn:
            return sorted(conn.execute(
                select(Encounter.period, Encounter.fiscal_year, Encounter.region, Area.slug,
                       Encounter.encounter_count)
                .join(Release, Release.id == Encounter.release_id)
                .join(Area, Area.id == Encounter.area_id)
                .where(Release.file_name == file_name)
            ).all())

    workbook = rows("ohss-usbp-encounters-fy25m11.xlsx")
    export = rows("ohss-usbp-encounters-monthly-sector.csv")
    assert len(workbook) == 5830
    assert workbook == export
    assert workbook == sheet_rows(data_dir)  # what openpyxl reads from the sheet itself
    with loaded_engine.connect() as conn:
        current = conn.execute(
            select(func.count(), func.sum(Encounter.encounter_count))
            .where(Encounter.is_current.is_(True), Encounter.source == "ohss-sector-encounters")
        ).one()
    # Two releases of the same months: one of them is current, never both.
    assert tuple(current) == (5830, sum(r[-1] for r in export))


def test_ohss_months_map_to_calendar_periods(loaded_engine, data_dir):
    """`01 October` of FY2022 is 2021-10-01; `12 September` is 2022-09-01."""
    expected = defaultdict(int)
    for r in rows_of(data_dir / "ohss-usbp-encounters-monthly-sector.csv"):
        if fiscal_year(r["Fiscal Year"]) == 2022:
            month = MONTHS[int(r["Month"].split()[0]) - 1]
            number = CALENDAR_MONTH[month]
            expected[dt.date(2021 if number >= 10 else 2022, number, 1)] += int(r["Quantity"])
    with loaded_engine.connect() as conn:
        got = dict(conn.execute(
            select(Encounter.period, func.sum(Encounter.encounter_count))
            .where(Encounter.is_current.is_(True), Encounter.source == "ohss-sector-encounters",
                   Encounter.fiscal_year == 2022)
            .group_by(Encounter.period)
        ).all())
    assert got == dict(expected)
    assert min(got) == dt.date(2021, 10, 1) and max(got) == dt.date(2022, 9, 1)


# --- CDC / NCHS overdose deaths --------------------------------------------------------------------

def national_total(conn, year: int) -> list[tuple[int, str]]:
    return conn.execute(
        select(OverdoseDeath.deaths, Release.file_name)
        .join(Release, Release.id == OverdoseDeath.release_id)
        .where(OverdoseDeath.is_current.is_(True), OverdoseDeath.year == year,
               OverdoseDeath.state.is_(None), OverdoseDeath.category == "Total",
               OverdoseDeath.sex == "all")
    ).all()


def test_2021_us_overdose_deaths_equal_both_national_files(loaded_engine, data_dir):
    us_file = {int(r["year"]): int(r["Total Overdose Deaths"])
               for r in rows_of(data_dir / "cdc-overdose-deaths-us-2011-2021.csv")}
    by_drug = {int(r["Year"]): int(r["Deaths"])
               for r in rows_of(data_dir / "cdc-overdose-deaths-us-by-drug-1999-2021.csv")
               if r["Category"].strip() == "Total Overdose Deaths"}
    assert us_file[2021] == by_drug[2021]
    with loaded_engine.connect() as conn:
        current = national_total(conn, 2021)
    assert len(current) == 1, "exactly one current national total (no double counting)"
    assert current[0].deaths == us_file[2021] == 106699  # SOURCES.md: NCHS final ~107,000


def test_every_year_has_one_current_national_total_from_the_files(loaded_engine, data_dir):
    by_drug = {int(r["Year"]): int(r["Deaths"])
               for r in rows_of(data_dir / "cdc-overdose-deaths-us-by-drug-1999-2021.csv")
               if r["Category"].strip() == "Total Overdose Deaths"}
    us_file = {int(r["year"]): int(r["Total Overdose Deaths"])
               for r in rows_of(data_dir / "cdc-overdose-deaths-us-2011-2021.csv")}
    expected = {**by_drug, **us_file}
    with loaded_engine.connect() as conn:
        for year, deaths in expected.items():
            current = national_total(conn, year)
            assert [c.deaths for c in current] == [deaths], year


def test_by_drug_rows_keep_category_and_sex(loaded_engine, data_dir):
    """Female / Male rows break down the category row above them."""
    expected = {}
    category = None
    for r in rows_of(data_dir / "cdc-overdose-deaths-us-by-drug-1999-2021.csv"):
        name = r["Category"].strip()
        if name in {"Female", "Male"}:
            expected[(category, name.lower(), int(r["Year"]))] = int(r["Deaths"])
        else:
            category = name
            expected[(name, "all", int(r["Year"]))] = int(r["Deaths"])
    with loaded_engine.connect() as conn:
        got = {
            (c, s, y): d for c, s, y, d in conn.execute(
                select(OverdoseDeath.category, OverdoseDeath.sex, OverdoseDeath.year,
                       OverdoseDeath.deaths)
                .join(Release, Release.id == OverdoseDeath.release_id)
                .where(Release.file_name == "cdc-overdose-deaths-us-by-drug-1999-2021.csv")
            )
        }
    renamed = {"Total Overdose Deaths": "Total",
               "Synthetic Opioids(primarily fentanyl)": "Synthetic Opioids (primarily fentanyl)"}
    expected = {(renamed.get(c, c), s, y): d for (c, s, y), d in expected.items()}
    assert got == expected
    assert got[("Synthetic Opioids (primarily fentanyl)", "all", 2021)] == 70601


def test_state_deaths_read_thousands_separators(loaded_engine, data_dir):
    rows = rows_of(data_dir / "cdc-overdose-deaths-by-state.csv")
    with_separator = [r for r in rows if "," in r["DEATHS"]]
    assert len(with_separator) == 117  # FORMATS.md
    with loaded_engine.connect() as conn:
        got = {
            (y, s): (d, rate) for y, s, d, rate in conn.execute(
                select(OverdoseDeath.year, OverdoseDeath.state, OverdoseDeath.deaths,
                       OverdoseDeath.rate)
                .where(OverdoseDeath.is_current.is_(True), OverdoseDeath.state.is_not(None))
            )
        }
    expected = {(int(r["YEAR"]), r["STATE"]): (int(r["DEATHS"].replace(",", "")), float(r["RATE"]))
                for r in rows}
    assert got == expected
    assert any(r["DEATHS"] == "1,670" for r in with_separator)
    total_2021 = sum(d for (y, _), (d, _) in got.items() if y == 2021)
    assert total_2021 == sum(int(r["DEATHS"].replace(",", "")) for r in rows if r["YEAR"] == "2021")
    assert total_2021 == 106249  # SOURCES.md (50 states, no DC)
