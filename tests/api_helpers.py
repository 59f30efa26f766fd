"""Helpers for the API tests: an app client, and figures computed independently from the files.

Nothing here imports the application's parsing or query code: the expected figures come from the
official files in ../shared/data read with the csv module, and from the reference lists in seed/
(the area -> states map the brief names). Where several releases cover a month, the month is taken
from the file whose covered period ends latest (then starts latest, then was loaded last; files
load in name order, as the loaded_url fixture does), as SOURCES.md describes the current figure.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openapi_contract import Contract

from app.api.params import DATA_MODELS  # noqa: F401 (re-exported for tests)
from app.config import Settings
from app.main import create_app

DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"
SEED_DIR = Path(__file__).resolve().parents[1] / "seed"
MONTHS = ("OCT", "NOV", "DEC", "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP")
MONTH_NUMBER = {"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8,
                "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}
MONTHLY_GRAINS = ("month", "quarter", "fiscal_quarter", "fiscal_year", "calendar_year")

SEIZURE_FILES = ("cbp-drug-seizures-fy19-fy22.csv", "cbp-drug-seizures-fy20-fy23.csv",
                 "cbp-drug-seizures-fy23-fy26-dec.csv")
SW_FILES = ("cbp-sw-encounters-fy19-fy22.csv", "cbp-sw-encounters-fy22-fy25-aug.csv")
STATE_FILE = "cbp-encounters-by-state-fy20-fy23.csv"
OHSS_FILES = ("ohss-usbp-encounters-fy25m11.xlsx", "ohss-usbp-encounters-monthly-sector.csv")
OHSS_CSV = "ohss-usbp-encounters-monthly-sector.csv"
US_DEATHS_FILE = "cdc-overdose-deaths-us-2011-2021.csv"
DRUG_DEATHS_FILE = "cdc-overdose-deaths-us-by-drug-1999-2021.csv"
STATE_DEATHS_FILE = "cdc-overdose-deaths-by-state.csv"
# National totals after 2021 are not in ../shared/data: the project ships the NCHS Data Brief
# figures in seed/ and every ingest loads them as a release named by this file.
REFERENCE_DEATHS_FILE = "seed/nchs_reference.json"

COMPONENT = {"Office of Field Operations": "OFO", "U.S. Border Patrol": "USBP"}
REGION = {"Southwest Border": "Southwest Border", "Southwest Land Border": "Southwest Border",
          "Northern Border": "Northern Border", "Northern Land Border": "Northern Border",
          "Coastal/Interior": "Coastal/Interior", "Other": "Coastal/Interior",
          "Coastal Border": "Coastal/Interior"}
# The API's labels for the demographic the two Southwest files name differently.
DEMOGRAPHIC = {"UC / Single Minors": "Unaccompanied Children (UC / UAC)",
               "UAC": "Unaccompanied Children (UC / UAC)",
               "FMUA": "Family Unit Members (FMUA)"}


# --- the app -------------------------------------------------------------------------------------

class ContractClient(TestClient):
    """A TestClient that checks every answer it gets against the app's /openapi.json: status and
    content type documented for the operation, body valid against the documented schema."""

    contract: Contract | None = None

    def request(self, *args: Any, **kwargs: Any) -> Any:
        response = super().request(*args, **kwargs)
        if self.contract is None:
            self.contract = contract_of(self.app)
        problems = self.contract.problems(response)
        assert problems == [], problems
        return response


_CONTRACTS: dict[int, Contract] = {}


def contract_of(app: Any) -> Contract:
    """The contract of an app's OpenAPI document, built once per document: apps made of the same
    routes share one document a process (app.api.openapi), whatever their settings. A contract
    holds its document, so the id it is kept under is not reused while it is kept."""
    document = app.openapi()
    if id(document) not in _CONTRACTS:
        _CONTRACTS[id(document)] = Contract(document)
    return _CONTRACTS[id(document)]


@contextmanager
def api_client(database_url: str, *, raise_server_exceptions: bool = True,
               **settings: Any) -> Iterator[TestClient]:
    """A TestClient on a fresh app (lifespan run) reading `database_url`; every answer it gets
    is checked against the app's OpenAPI document."""
    options = {"version_ttl_seconds": 0, "log_level": "WARNING", **settings}
    app = create_app(Settings(database_url=database_url, **options))
    with ContractClient(app, raise_server_exceptions=raise_server_exceptions) as client:
        yield client


def get_json(client: TestClient, path: str, params: Any = None, **kwargs: Any) -> dict[str, Any]:
    response = client.get(path, params=params, **kwargs)
    assert response.status_code == 200, (path, params, response.text[:2000])
    return response.json()


def rows_of(client: TestClient, path: str, params: Any) -> list[dict[str, Any]]:
    """Every row of a query (one page of up to 10,000 rows; asserted complete)."""
    params = [*(params.items() if isinstance(params, dict) else params), ("limit", "10000")]
    body = get_json(client, path, params)
    assert body["meta"]["next"] is None and body["meta"]["total_rows"] == len(body["data"])
    return body["data"]


def lbs(value: float) -> Any:
    """A quantity compared at 1e-9 relative (the API gives 10 significant digits, the precision
    of CBP's releases)."""
    return pytest.approx(value, rel=1e-9)


# --- time ----------------------------------------------------------------------------------------

def fiscal_month(fiscal_year: int, abbreviation: str) -> dt.date:
    month = MONTH_NUMBER[abbreviation.strip().upper()[:3]]
    return dt.date(fiscal_year - 1 if month >= 10 else fiscal_year, month, 1)


def fiscal_year_of(month: dt.date) -> int:
    return month.year + 1 if month.month >= 10 else month.year


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    out = []
    month = first
    while month <= last:
        out.append(month)
        month = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return out


def fiscal_year_months(fiscal_year: int) -> list[dt.date]:
    return months_between(dt.date(fiscal_year - 1, 10, 1), dt.date(fiscal_year, 9, 1))


def grain_key(grain: str, month: dt.date) -> Any:
    """The key the API writes for the period holding `month` (format from the API docs)."""
    if grain == "month":
        return f"{month:%Y-%m}"
    if grain == "quarter":
        return f"{month.year}-Q{(month.month - 1) // 3 + 1}"
    if grain == "fiscal_quarter":
        return f"FY{fiscal_year_of(month)}-Q{((month.month - 10) % 12) // 3 + 1}"
    if grain == "fiscal_year":
        return fiscal_year_of(month)
    if grain == "calendar_year":
        return month.year
    raise ValueError(grain)


GRAIN_LENGTH = {"month": 1, "quarter": 3, "fiscal_quarter": 3, "fiscal_year": 12, "calendar_year": 12}


def complete_keys(grain: str, months: Iterable[dt.date]) -> set[Any]:
    """Periods of `grain` whose every month is among `months`."""
    count: dict[Any, int] = defaultdict(int)
    for month in set(months):
        count[grain_key(grain, month)] += 1
    return {key for key, n in count.items() if n == GRAIN_LENGTH[grain]}


# --- reading files -------------------------------------------------------------------------------

@cache
def read_csv(name: str) -> tuple[dict[str, str], ...]:
    with (DATA_DIR / name).open(newline="", encoding="utf-8-sig") as handle:
        return tuple(csv.DictReader(handle))


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@cache
def seed_areas() -> dict[str, dict[str, Any]]:
    """Area slug -> its seed entry (name, kind, component, region, states)."""
    areas = json.loads((SEED_DIR / "areas.json").read_text())["areas"]
    return {slug(a["name"]): a for a in areas}


def area_states_label(area_slug: str) -> str:
    return ",".join(sorted(seed_areas()[area_slug]["states"]))


@cache
def drug_slugs() -> dict[str, str]:
    """CBP 'Drug Type' -> the drug's slug in seed/drugs.json."""
    drugs = json.loads((SEED_DIR / "drugs.json").read_text())["drugs"]
    return {d["source_name"]: d["slug"] for d in drugs}


def _current(files: dict[str, list[dict[str, Any]]]) -> tuple[list[dict[str, Any]], dict[dt.date, str]]:
    """Rows of each month from the file current for it, and month -> that file."""
    load_order = {name: i for i, name in enumerate(sorted(files))}
    spans = {name: (max(r["month"] for r in rows), min(r["month"] for r in rows), load_order[name])
             for name, rows in files.items()}
    owner: dict[dt.date, str] = {}
    for name, rows in files.items():
        for month in {r["month"] for r in rows}:
            if month not in owner or spans[name] > spans[owner[month]]:
                owner[month] = name
    current = [r for name, rows in files.items() for r in rows if owner[r["month"]] == name]
    return current, owner


def catch_all(citizenship: str, family: str) -> str:
    """The documented label of a family's catch-all bucket: "OTHER (family)"."""
    return f"OTHER ({family})" if citizenship == "OTHER" else citizenship


@cache
def seizures() -> tuple[list[dict[str, Any]], dict[dt.date, str]]:
    """Current seizure rows (normalized) and month -> current file."""
    files = {}
    for name in SEIZURE_FILES:
        files[name] = [{
            "month": fiscal_month(int(r["FY"][:4]), r["Month (abbv)"]),
            "component": COMPONENT[r["Component"]],
            "region": REGION[r["Region"]],
            "land_filter": r["Land Filter"],
            "area": slug(r["Area of Responsibility"]),
            "drug": drug_slugs()[r["Drug Type"]],
            "event_count": int(r["Count of Event"]),
            "quantity_lbs": float(r["Sum Qty (lbs)"]),
        } for r in read_csv(name)]
    return _current(files)


@cache
def sw_encounters() -> tuple[list[dict[str, Any]], dict[dt.date, str]]:
    files = {}
    for name in SW_FILES:
        files[name] = [{
            "month": fiscal_month(int(r["Fiscal Year"][:4]), r["Month (abbv)"]),
            "component": COMPONENT[r["Component"]],
            "region": "Southwest Border",
            "demographic": DEMOGRAPHIC.get(r["Demographic"], r["Demographic"]),
            "citizenship": catch_all(r["Citizenship Grouping"].upper(), "cbp-sw-encounters"),
            "title_of_authority": r["Title of Authority"],
            "encounter_type": r["Encounter Type"],
            "encounter_count": int(float(r["Encounter Count"])),
        } for r in read_csv(name)]
    return _current(files)


@cache
def state_encounters() -> tuple[list[dict[str, Any]], dict[dt.date, str]]:
    rows = [{
        "month": fiscal_month(int(r["Fiscal Year"][:4]), r["Month (abbv)"]),
        "region": REGION[r["Land Border Region"]],
        "state": r["State"],
        "demographic": DEMOGRAPHIC.get(r["Demographic"], r["Demographic"]),
        "citizenship": catch_all(r["Citizenship"], "cbp-state-encounters"),
        "title_of_authority": r["Title of Authority"],
        "encounter_count": int(float(r["Encounter Count"])),
    } for r in read_csv(STATE_FILE)]
    return _current({STATE_FILE: rows})


@cache
def ohss_encounters() -> tuple[list[dict[str, Any]], dict[dt.date, str]]:
    """The OHSS sector series (the CSV export; the workbook sheet holds the same values)."""
    rows = []
    for r in read_csv(OHSS_CSV):
        position, _, _name = r["Month"].partition(" ")
        month = fiscal_month(int(r["Fiscal Year"]), MONTHS[int(position) - 1])
        place = r["Sector"].rpartition(",")[0]
        rows.append({"month": month, "component": "USBP", "region": REGION[r["Region"]],
                     "area": slug(place) + "-sector", "encounter_count": int(r["Quantity"])})
    # Both OHSS files cover the same months; the one loaded last (by name) answers for them.
    _, owner = _current({OHSS_CSV: rows})
    return rows, {m: max(OHSS_FILES) for m in owner}


@cache
def us_deaths() -> dict[int, int]:
    return {int(r["year"]): int(r["Total Overdose Deaths"]) for r in read_csv(US_DEATHS_FILE)}


def category_slug(name: str) -> str:
    return {"Total Overdose Deaths": "total",
            "Synthetic Opioids(primarily fentanyl)": "synthetic-opioids"}.get(name, slug(name))


@cache
def drug_deaths() -> dict[tuple[str, str, int], int]:
    """(category slug, sex, year) -> deaths; Female/Male rows break down the category above."""
    out: dict[tuple[str, str, int], int] = {}
    category = None
    for r in read_csv(DRUG_DEATHS_FILE):
        name = " ".join(r["Category"].split())
        if name in ("Female", "Male"):
            out[(category, name.lower(), int(r["Year"]))] = int(r["Deaths"])
        else:
            category = category_slug(name)
            out[(category, "all", int(r["Year"]))] = int(r["Deaths"])
    return out


@cache
def state_deaths() -> dict[tuple[str, int], tuple[int, float]]:
    """(state, year) -> (deaths, age-adjusted rate)."""
    return {(r["STATE"], int(r["YEAR"])): (int(r["DEATHS"].replace(",", "")), float(r["RATE"]))
            for r in read_csv(STATE_DEATHS_FILE)}


@cache
def reference_deaths() -> dict[int, int]:
    """National totals shipped as reference figures (seed/nchs_reference.json)."""
    shipped = json.loads((SEED_DIR / "nchs_reference.json").read_text())
    return {f["year"]: f["deaths"] for f in shipped["figures"]}


def national_death_file(year: int) -> str:
    """The file current for a national total: period ends latest, then starts latest."""
    if year in reference_deaths():
        return REFERENCE_DEATHS_FILE
    spans = {US_DEATHS_FILE: (max(us_deaths()), min(us_deaths()))}
    years = {k[2] for k in drug_deaths()}
    spans[DRUG_DEATHS_FILE] = (max(years), min(years))
    holders = [f for f in spans if (f == US_DEATHS_FILE and year in us_deaths()) or
               (f == DRUG_DEATHS_FILE and year in years)]
    return max(holders, key=lambda f: spans[f])


# --- aggregation ---------------------------------------------------------------------------------

def aggregate(rows: Iterable[dict[str, Any]], keys: Iterable[Callable[[dict[str, Any]], Any]],
              measures: Iterable[str]) -> dict[tuple, dict[str, float]]:
    """Sum `measures` of `rows` by the tuple of `keys`."""
    keys, measures = list(keys), list(measures)
    out: dict[tuple, dict[str, float]] = {}
    for row in rows:
        key = tuple(k(row) for k in keys)
        sums = out.setdefault(key, dict.fromkeys(measures, 0))
        for m in measures:
            sums[m] += row[m]
    return out


def field(name: str) -> Callable[[dict[str, Any]], Any]:
    return lambda row: row[name]


def by_grain(grain: str) -> Callable[[dict[str, Any]], Any]:
    return lambda row: grain_key(grain, row["month"])


def total(rows: Iterable[dict[str, Any]], measure: str) -> float:
    return sum(r[measure] for r in rows)
