"""Releases that overlap: idempotent re-ingest, and revisions settled the same whatever the order.

The rule (FORMATS.md): for a month in several releases, the release covering the latest period is
the current figure; older releases' values stay as non-current rows (a revision worth keeping).
Expectations are computed here from the CSV files, not from the loader.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import json
import math
import shutil
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.ingest.load import ingest_paths, load_parsed
from app.ingest.reader import ParsedFile, read_file
from app.models import Area, Drug, Encounter, OverdoseDeath, Release, ReleasePeriod, Seizure

SEIZURE_FILES = (
    "cbp-drug-seizures-fy19-fy22.csv",
    "cbp-drug-seizures-fy20-fy23.csv",
    "cbp-drug-seizures-fy23-fy26-dec.csv",
)
SW_OLD, SW_NEW = "cbp-sw-encounters-fy19-fy22.csv", "cbp-sw-encounters-fy22-fy25-aug.csv"
US_DEATHS = "cdc-overdose-deaths-us-2011-2021.csv"
# Every ingest also loads, once, the reference figures shipped in seed/ (NCHS 2022-2023 deaths):
# a release of its own, named by that file, which the figures below leave aside or add in.
REFERENCE_FILE = "seed/nchs_reference.json"
REFERENCE_FIGURES = json.loads((Path(__file__).resolve().parents[1] / REFERENCE_FILE)
                               .read_text(encoding="utf-8"))["figures"]
BY_DRUG_DEATHS = "cdc-overdose-deaths-us-by-drug-1999-2021.csv"
STATE_DEATHS = "cdc-overdose-deaths-by-state.csv"
MONTHS = ("OCT", "NOV", "DEC", "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP")
COMPONENT = {"Office of Field Operations": "OFO", "U.S. Border Patrol": "USBP"}


def period_of(fy_text: str, month: str) -> dt.date:
    fy = int(fy_text.strip()[:4])
    position = MONTHS.index(month.strip().upper())
    number = (position + 9) % 12 + 1
    return dt.date(fy - 1 if number >= 10 else fy, number, 1)


@dataclass
class CsvRelease:
    """One monthly release as read here with the csv module: its cells month by month."""

    name: str
    rows: int = 0
    cells: dict[dt.date, dict[tuple, tuple]] = field(default_factory=lambda: defaultdict(dict))

    @property
    def start(self) -> dt.date:
        return min(self.cells)

    @property
    def end(self) -> dt.date:
        return max(self.cells)


@cache
def seizure_release(path: Path) -> CsvRelease:
    release = CsvRelease(path.name)
    with path.open(newline="", encoding="utf-8") as handle:
        for r in csv.DictReader(handle):
            key = (r["Area of Responsibility"].strip().upper(), r["Drug Type"],
                   COMPONENT[r["Component"]], r["Region"], r["Land Filter"])
            release.cells[period_of(r["FY"], r["Month (abbv)"])][key] = (
                int(r["Count of Event"]), float(r["Sum Qty (lbs)"]))
            release.rows += 1
    return release


@cache
def sw_release(path: Path) -> CsvRelease:
    release = CsvRelease(path.name)
    with path.open(newline="", encoding="utf-8") as handle:
        for r in csv.DictReader(handle):
            # The unaccompanied-children label differs between releases (UC / Single Minors, UAC).
            key = (COMPONENT[r["Component"]], r["Demographic"].replace("UC / Single Minors", "UAC"),
                   r["Citizenship Grouping"].upper(), r["Title of Authority"], r["Encounter Type"])
            release.cells[period_of(r["Fiscal Year"], r["Month (abbv)"])][key] = (
                int(float(r["Encounter Count"])),)
            release.rows += 1
    return release


def same_cells(a: dict[tuple, tuple], b: dict[tuple, tuple]) -> bool:
    return a.keys() == b.keys() and all(
        math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-6)
        for k in a for x, y in zip(a[k], b[k], strict=True)
    )


def expected_history(order: list[CsvRelease]) -> tuple[dict, dict[dt.date, str]]:
    """(release, period) -> status after loading `order` one command at a time; period -> current.

    A release is ranked by the end, then the start, of the period it covers, then by load order.
    """
    statuses = {}
    loaded: list[CsvRelease] = []

    def rank(index: int, release: CsvRelease) -> tuple:
        return (release.end, release.start, index)

    for index, release in enumerate(order):
        for period, cells in release.cells.items():
            prior = [(i, r) for i, r in enumerate(loaded) if period in r.cells]
            if not prior:
                status = "new"
            else:
                best_index, best = max(prior, key=lambda ir: rank(*ir))
                if same_cells(cells, best.cells[period]):
                    status = "unchanged"
                elif rank(index, release) > rank(best_index, best):
                    status = "revised"
                else:
                    status = "superseded"
            statuses[(release.name, period)] = status
        loaded.append(release)
    current = {}
    for period in {p for r in order for p in r.cells}:
        holders = [(i, r) for i, r in enumerate(order) if period in r.cells]
        current[period] = max(holders, key=lambda ir: rank(*ir))[1].name
    return statuses, current


def release_periods(engine) -> dict[tuple[str, dt.date], tuple[str, bool, int]]:
    with engine.connect() as conn:
        return {
            (name, period): (status, current, rows)
            for name, period, status, current, rows in conn.execute(
                select(Release.file_name, ReleasePeriod.period, ReleasePeriod.status,
                       ReleasePeriod.is_current, ReleasePeriod.row_count)
                .join(Release, Release.id == ReleasePeriod.release_id)
                .where(Release.file_name != REFERENCE_FILE)
            )
        }


def assert_release_bookkeeping(engine, fact, expected: dict[str, CsvRelease]) -> None:
    """Every release keeps all its rows; its period counters match its release_period rows."""
    periods = release_periods(engine)
    with engine.connect() as conn:
        releases = conn.execute(select(Release).where(Release.file_name != REFERENCE_FILE)).all()
        for release in releases:
            kept = conn.execute(
                select(func.count()).select_from(fact).where(fact.release_id == release.id)
            ).scalar_one()
            assert kept == release.row_count == expected[release.file_name].rows, release.file_name
            mine = [v for (name, _), v in periods.items() if name == release.file_name]
            assert sum(rows for _, _, rows in mine) == release.row_count
            statuses = Counter(status for status, _, _ in mine)
            assert (release.periods_new, release.periods_revised, release.periods_unchanged,
                    release.periods_superseded) == (statuses["new"], statuses["revised"],
                                                    statuses["unchanged"], statuses["superseded"])
    current_per_period = Counter(period for (_, period), (_, current, _) in periods.items() if current)
    all_periods = {period for _, period in periods}
    assert set(current_per_period) == all_periods
    assert set(current_per_period.values()) == {1}, "exactly one current release per month"


@pytest.fixture(scope="module")
def parsed(data_dir: Path):
    """read_file once per module: the permutations only differ in load order."""
    cache_: dict[str, ParsedFile] = {}

    def get(name: str) -> ParsedFile:
        if name not in cache_:
            cache_[name] = read_file(data_dir / name)
        return cache_[name]

    return get


# --- idempotency -----------------------------------------------------------------------------------

def test_reingest_same_file_changes_nothing(empty_engine, data_dir, db_state):
    path = str(data_dir / SW_NEW)
    [first] = ingest_paths(empty_engine, [path])
    assert not first.already_loaded
    before = db_state(empty_engine)
    assert before["data_version"] == 1
    [second] = ingest_paths(empty_engine, [path])
    assert second.already_loaded
    assert second.release_id == first.release_id
    assert f"already loaded as release {first.release_id}, nothing changed" in second.summary()
    assert db_state(empty_engine) == before  # rows, sums, currency, releases and data_version


def test_same_file_twice_in_one_command_loads_once(empty_engine, data_dir, db_state):
    path = str(data_dir / US_DEATHS)
    results = ingest_paths(empty_engine, [path, path])
    assert [r.already_loaded for r in results] == [False, True]
    state = db_state(empty_engine)
    assert state["release"] == (2, 11 + len(REFERENCE_FIGURES))  # the file and the reference
    assert state["overdose_death"][0] == 11 + len(REFERENCE_FIGURES)
    assert state["data_version"] == 1


def test_renamed_copy_of_a_loaded_file_is_already_loaded(empty_engine, data_dir, db_state, tmp_path):
    ingest_paths(empty_engine, [str(data_dir / SW_OLD)])
    before = db_state(empty_engine)
    copy = tmp_path / "sbo-encounters-fy19-fy22 (1).csv"
    shutil.copyfile(data_dir / SW_OLD, copy)
    [result] = ingest_paths(empty_engine, [str(copy)])
    assert result.already_loaded
    assert db_state(empty_engine) == before


def test_reingesting_an_older_release_does_not_roll_back_the_newer(empty_engine, data_dir, db_state):
    ingest_paths(empty_engine, [str(data_dir / SW_OLD), str(data_dir / SW_NEW)])
    before = db_state(empty_engine)
    [again] = ingest_paths(empty_engine, [str(data_dir / SW_OLD)])
    assert again.already_loaded
    assert db_state(empty_engine) == before
    with empty_engine.connect() as conn:
        fy2022 = set(conn.scalars(
            select(Release.file_name).join(Encounter, Encounter.release_id == Release.id)
            .where(Encounter.is_current.is_(True), Encounter.fiscal_year == 2022)
        ))
    assert fy2022 == {SW_NEW}


def test_cli_reingest_says_already_loaded_and_changes_nothing(database_url, data_dir, run_cli_in_process,
                                                              empty_engine, db_state):
    path = data_dir / US_DEATHS
    first = run_cli_in_process(["ingest", path], database_url=database_url)
    assert first.returncode == 0, first.stderr
    assert "release 1; years 11 new" in first.stdout
    before = db_state(empty_engine)
    second = run_cli_in_process(["ingest", path], database_url=database_url)
    assert second.returncode == 0, second.stderr
    assert "already loaded as release 1, nothing changed" in second.stdout
    assert db_state(empty_engine) == before


# --- seizures: three overlapping releases in every order ------------------------------------------

PERMUTATIONS = list(itertools.permutations(SEIZURE_FILES))


def _order_id(order: tuple[str, ...]) -> str:
    return ">".join(name.removeprefix("cbp-drug-seizures-").removesuffix(".csv") for name in order)


@pytest.mark.slow
@pytest.mark.parametrize("order", PERMUTATIONS, ids=[_order_id(o) for o in PERMUTATIONS])
def test_seizure_releases_in_any_order_settle_the_same_current_figures(order, empty_engine, parsed,
                                                                       data_dir):
    for name in order:  # one ingest command per file, in this order
        load_parsed(empty_engine, [parsed(name)])
    csv_releases = {name: seizure_release(data_dir / name) for name in SEIZURE_FILES}
    statuses, current_of = expected_history([csv_releases[name] for name in order])

    with empty_engine.connect() as conn:
        rows = conn.execute(
            select(Release.file_name, Seizure.period, Seizure.fiscal_year, Area.name,
                   Drug.source_name, Seizure.component, Seizure.region, Seizure.land_filter,
                   Seizure.event_count, Seizure.quantity_lbs)
            .join(Release, Release.id == Seizure.release_id)
            .join(Area, Area.id == Seizure.area_id)
            .join(Drug, Drug.id == Seizure.drug_id)
            .where(Seizure.is_current.is_(True))
        ).all()
        total_rows = conn.execute(select(func.count()).select_from(Seizure)).scalar_one()

    # The current rows are exactly the rows of the release current for each month.
    got = {(r.period, r.name.upper(), r.source_name, r.component, r.region, r.land_filter):
           (r.file_name, r.event_count, r.quantity_lbs) for r in rows}
    assert len(got) == len(rows)
    expected = {(period, *key): (name, *values)
                for period, name in current_of.items()
                for key, values in csv_releases[name].cells[period].items()}
    assert got.keys() == expected.keys()
    for key, (name, events, lbs) in expected.items():
        assert got[key][:2] == (name, events), key
        # approx only where the pounds differ (the same assertion, cheaper for equal values)
        assert got[key][2] == lbs or got[key][2] == pytest.approx(lbs, rel=1e-9), key

    # Totals per fiscal year, whatever the order.
    by_fy: dict[int, list] = defaultdict(lambda: [0, 0.0])
    for r in rows:
        by_fy[r.fiscal_year][0] += r.event_count
        by_fy[r.fiscal_year][1] += r.quantity_lbs
    exp_fy: dict[int, list] = defaultdict(lambda: [0, 0.0])
    for (period, *_), (_, events, lbs) in expected.items():
        fy = period.year + 1 if period.month >= 10 else period.year
        exp_fy[fy][0] += events
        exp_fy[fy][1] += lbs
    assert sorted(by_fy) == list(range(2019, 2027))
    for fy, (events, lbs) in exp_fy.items():
        assert by_fy[fy][0] == events and by_fy[fy][1] == pytest.approx(lbs, rel=1e-9), fy

    # FY2023 stays with fy23-fy26-dec even when fy20-fy23 is loaded after it (no roll back).
    fy2023 = {r.file_name for r in rows if r.fiscal_year == 2023}
    assert fy2023 == {"cbp-drug-seizures-fy23-fy26-dec.csv"}
    fy2021 = {r.file_name for r in rows if r.fiscal_year == 2021}
    assert fy2021 == {"cbp-drug-seizures-fy20-fy23.csv"}

    # Older values are kept as non-current rows: nothing is deleted.
    assert total_rows == sum(r.rows for r in csv_releases.values())
    assert total_rows - len(rows) == sum(
        len(cells) for name, rel in csv_releases.items()
        for period, cells in rel.cells.items() if current_of[period] != name)

    # Month statuses: new for the first release of a month, then unchanged / revised / superseded.
    periods = release_periods(empty_engine)
    assert {k: v[0] for k, v in periods.items()} == statuses
    assert {k: v[1] for k, v in periods.items()} == {
        (name, period): current_of[period] == name for name, period in statuses}
    assert_release_bookkeeping(empty_engine, Seizure, csv_releases)
    assert Counter(statuses.values())["new"] == len(current_of)


# --- southwest encounters: two releases that overlap on FY2022 ------------------------------------

def sw_current_rows(engine) -> dict[tuple, tuple]:
    with engine.connect() as conn:
        return {
            (r.period, r.component, r.demographic, r.citizenship, r.title_of_authority,
             r.encounter_type): (r.file_name, r.encounter_count)
            for r in conn.execute(
                select(Release.file_name, Encounter.period, Encounter.component,
                       Encounter.demographic, Encounter.citizenship, Encounter.title_of_authority,
                       Encounter.encounter_type, Encounter.encounter_count)
                .join(Release, Release.id == Encounter.release_id)
                .where(Encounter.is_current.is_(True), Encounter.source == "cbp-sw-encounters")
            )
        }


@pytest.mark.parametrize("order", [(SW_OLD, SW_NEW), (SW_NEW, SW_OLD)], ids=["old>new", "new>old"])
def test_sw_encounter_releases_in_either_order_make_fy22_fy25_current(order, empty_engine, parsed,
                                                                      data_dir):
    for name in order:
        load_parsed(empty_engine, [parsed(name)])
    csv_releases = {name: sw_release(data_dir / name) for name in (SW_OLD, SW_NEW)}
    statuses, current_of = expected_history([csv_releases[name] for name in order])
    fy2022 = [period_of("2022", month) for month in MONTHS]
    assert all(current_of[p] == SW_NEW for p in fy2022)

    # The FY2022 months are a genuine revision: USBP Title 42 was "Apprehensions" in fy19-fy22
    # and is "Expulsions" in fy22-fy25-aug.
    second = order[1]
    assert {statuses[(second, p)] for p in fy2022} == \
        {"revised" if second == SW_NEW else "superseded"}
    assert {k[1]: v[0] for k, v in release_periods(empty_engine).items()
            if k[0] == second and k[1] in fy2022} == {p: statuses[(second, p)] for p in fy2022}

    got: dict[tuple, int] = defaultdict(int)
    for (period, component, _, _, title, kind), (name, count) in sw_current_rows(empty_engine).items():
        assert name == current_of[period]
        got[(period.year + (period.month >= 10), component, title, kind)] += count
    expected: dict[tuple, int] = defaultdict(int)
    for period, name in current_of.items():
        for (component, _, _, title, kind), (count,) in csv_releases[name].cells[period].items():
            expected[(period.year + (period.month >= 10), component, title, kind)] += count
    assert got == expected
    assert got[(2022, "USBP", "Title 42", "Expulsions")] == 1054084
    assert (2022, "USBP", "Title 42", "Apprehensions") not in got

    with empty_engine.connect() as conn:
        kept = conn.execute(
            select(func.sum(Encounter.encounter_count))
            .join(Release, Release.id == Encounter.release_id)
            .where(Encounter.is_current.is_(False), Release.file_name == SW_OLD,
                   Encounter.fiscal_year == 2022, Encounter.title_of_authority == "Title 42",
                   Encounter.encounter_type == "Apprehensions")
        ).scalar_one()
    assert kept == 1054084  # the older labelling stays as a non-current revision
    assert_release_bookkeeping(empty_engine, Encounter, csv_releases)


def test_sw_encounter_releases_in_both_orders_give_identical_current_rows(database_factory, parsed):
    engines = []
    for order in ((SW_OLD, SW_NEW), (SW_NEW, SW_OLD)):
        engine = database_factory.engine()
        engines.append(engine)
        for name in order:
            load_parsed(engine, [parsed(name)])
    first, second = (sw_current_rows(e) for e in engines)
    assert first == second
    assert {name for name, _ in first.values()} == {SW_OLD, SW_NEW}


# --- overdose deaths: cell-level currency ---------------------------------------------------------

def national_cells(engine) -> dict[tuple, tuple[int, str]]:
    with engine.connect() as conn:
        return {
            (r.year, r.category, r.sex): (r.deaths, r.file_name)
            for r in conn.execute(
                select(OverdoseDeath.year, OverdoseDeath.category, OverdoseDeath.sex,
                       OverdoseDeath.deaths, Release.file_name)
                .join(Release, Release.id == OverdoseDeath.release_id)
                .where(OverdoseDeath.is_current.is_(True), OverdoseDeath.state.is_(None))
            )
        }


def test_national_death_files_in_either_order_give_the_same_totals_once(database_factory, parsed,
                                                                        data_dir):
    with (data_dir / US_DEATHS).open(newline="") as handle:
        us_totals = {int(r["year"]): int(r["Total Overdose Deaths"]) for r in csv.DictReader(handle)}
    with (data_dir / BY_DRUG_DEATHS).open(newline="") as handle:
        by_drug_totals = {int(r["Year"]): int(r["Deaths"]) for r in csv.DictReader(handle)
                          if r["Category"].strip() == "Total Overdose Deaths"}
    results = []
    for order in ((STATE_DEATHS, US_DEATHS, BY_DRUG_DEATHS), (STATE_DEATHS, BY_DRUG_DEATHS, US_DEATHS)):
        engine = database_factory.engine()
        for name in order:
            load_parsed(engine, [parsed(name)])
        with engine.connect() as conn:
            duplicated = conn.execute(
                select(OverdoseDeath.year, OverdoseDeath.state, OverdoseDeath.category,
                       OverdoseDeath.sex)
                .where(OverdoseDeath.is_current.is_(True))
                .group_by(OverdoseDeath.year, OverdoseDeath.state, OverdoseDeath.category,
                          OverdoseDeath.sex)
                .having(func.count() > 1)
            ).all()
            totals = conn.execute(select(func.count(), func.sum(OverdoseDeath.deaths))
                                  .select_from(OverdoseDeath)).one()
            us_statuses = set(conn.scalars(
                select(ReleasePeriod.status).join(Release, Release.id == ReleasePeriod.release_id)
                .where(Release.file_name == US_DEATHS)))
        assert duplicated == [], "a cell is current in two releases (double counting)"
        # every release keeps all its rows
        assert totals[0] == 500 + 11 + 2070 + len(REFERENCE_FIGURES)
        if order[-1] == US_DEATHS:
            assert us_statuses == {"unchanged"}  # same figures as the by-drug file
        results.append(national_cells(engine))

    first, second = results
    assert first == second  # same figures, and from the same release, whatever the order
    national = {year: deaths for (year, category, sex), (deaths, _) in first.items()
                if category == "Total" and sex == "all"}
    reference = {f["year"]: f["deaths"] for f in REFERENCE_FIGURES}
    assert national == {**by_drug_totals, **us_totals, **reference}
    assert national[2021] == 106699
