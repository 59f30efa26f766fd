"""The seams between release families, periods and names, each rule over the whole catalog.

1. A value a release family does not carry is never a zero: every (family, dimension, value) the
   family lacks is asked of it, and the answer comes from the family that carries the value, or is
   null and incomplete, or a 422 - whichever the documented rule says, worked out here from the files.
2. No published rows is null (JSON and CSV, data endpoints and comparisons); a published zero is 0.
3. Comparisons of periods compare like with like (the same months of each period).
4. Every answer says which months (years) it adds up, and `complete` is true or false.
5. Names users type: ports of entry, misspelt parameters, FY2021, two grains, 404 and 405.

Expected figures come from ../shared/data through tests/api_helpers.py (csv module), never from the API.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import api_helpers as h
import pytest

SW = "Southwest Border"
# The documented order the API tries release families in (exact CBP files before the rounded
# OHSS series), and the population each family is restricted to (FORMATS.md: the Southwest file
# covers the Southwest land border only; the OHSS series is Border Patrol only).
FAMILY_ORDER = ("cbp-sw-encounters", "cbp-state-encounters", "ohss-sector-encounters")
RESTRICTED = {"cbp-sw-encounters": ("region", SW), "ohss-sector-encounters": ("component", "USBP")}
READERS: dict[str, Callable[[], tuple[list[dict[str, Any]], dict[dt.date, str]]]] = {
    "cbp-sw-encounters": h.sw_encounters,
    "cbp-state-encounters": h.state_encounters,
    "ohss-sector-encounters": h.ohss_encounters,
}
PARAM_OF = {"region": {SW: "southwest", "Northern Border": "northern",
                       "Coastal/Interior": "coastal-interior"},
            "component": {"OFO": "ofo", "USBP": "usbp"}}


@pytest.fixture(scope="module")
def client(loaded_url: str):
    with h.api_client(loaded_url) as test_client:
        yield test_client


# --- an independent oracle of the encounter families ------------------------------------------

class Family:
    """One family's current rows from the files, the values each file carries, its months."""

    def __init__(self, key: str):
        self.key = key
        self.rows, self.owner = READERS[key]()
        self.dimensions = {k for k in self.rows[0] if k not in ("month", "encounter_count")}
        self.vocabulary: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
        for row in self.rows:
            for dim in self.dimensions:
                self.vocabulary[self.owner[row["month"]]][dim].add(row[dim])

    def carries(self, dim: str, value: Any, month: dt.date) -> bool:
        return month in self.owner and value in self.vocabulary[self.owner[month]][dim]

    def carries_anywhere(self, dim: str, value: Any) -> bool:
        return any(value in dims[dim] for dims in self.vocabulary.values())

    def fits(self, filters: dict[str, tuple]) -> bool:
        if not set(filters) <= self.dimensions:
            return False
        if self.key not in RESTRICTED:
            return True
        dim, only = RESTRICTED[self.key]
        asked = set(filters.get(dim, ()))
        if dim == "component" and "area" in filters:
            asked |= {"USBP" if a.endswith("-sector") else "OFO" for a in filters["area"]}
        return bool(asked) and asked <= {only}

    def months_carrying(self, filters: dict[str, tuple]) -> set[dt.date]:
        return {m for m in self.owner
                if all(self.carries(d, v, m) for d, vs in filters.items() for v in vs)}

    def total(self, filters: dict[str, tuple], months: set[dt.date]) -> int | None:
        rows = [r for r in self.rows if r["month"] in months
                and all(r[d] in vs for d, vs in filters.items())]
        return sum(r["encounter_count"] for r in rows) if rows else None


@pytest.fixture(scope="module")
def families() -> dict[str, Family]:
    return {key: Family(key) for key in FAMILY_ORDER}


def expected_answer(families: dict[str, Family], filters: dict[str, tuple],
                    months: set[dt.date]) -> tuple[str, int | None, bool] | None:
    """(family, value, complete) by the documented rule, or None for a 422."""
    carrying = [f for f in (families[k] for k in FAMILY_ORDER)
                if f.fits(filters) and all(f.carries_anywhere(d, v)
                                            for d, vs in filters.items() for v in vs)]
    if not carrying:
        return None
    full = [f for f in carrying if months <= f.months_carrying(filters)]
    some = [f for f in carrying if months & f.months_carrying(filters)]
    chosen = (full or some or carrying)[0]
    held = chosen.months_carrying(filters)
    return chosen.key, chosen.total(filters, months & held), months <= held


def as_param(dim: str, value: Any) -> str:
    """A value as a query string gives it: the documented slug (a label may hold a comma)."""
    return PARAM_OF.get(dim, {}).get(value) or h.slug(str(value))


def family_cases(client) -> list[tuple[str, str, Any]]:
    """(family, dimension, value) for every value of a dimension a family has but does not carry."""
    encounters = next(d for d in h.get_json(client, "/datasets")["data"] if d["name"] == "encounters")
    sources = [s for s in encounters["sources"] if s["loaded"]]
    # Every value the catalog knows for a dimension: the dataset's accepted values and what any
    # family carries.
    union: dict[str, set] = defaultdict(set)
    for dim in encounters["dimensions"]:
        union[dim["name"]].update(dim["values"])
    for source in sources:
        for dim, values in source["values"].items():
            union[dim].update(values)
    cases = []
    for source in sources:
        for dim in source["dimensions"]:
            for value in sorted(union[dim] - set(source["values"].get(dim, ()))):
                cases.append((source["key"], dim, value))
    return cases


# --- 1. a value a family does not carry is never a zero -----------------------------------------

def test_every_value_a_family_lacks_is_answered_by_the_family_that_has_it_or_not_at_all(
        client, families):
    cases = family_cases(client)
    assert {dim for _, dim, _ in cases} >= {"citizenship", "region", "component", "area"}
    asked = 0
    for family, dim, value in cases:
        scope = {}
        if family in RESTRICTED and RESTRICTED[family][0] != dim:
            scope[RESTRICTED[family][0]] = (RESTRICTED[family][1],)
        filters = {**scope, dim: (value,)}
        for fiscal_year in range(2019, 2026):
            months = set(h.fiscal_year_months(fiscal_year))
            params = {d: ",".join(as_param(d, v) for v in vs) for d, vs in filters.items()}
            params["fiscal_year"] = str(fiscal_year)
            response = client.get("/encounters", params=params)
            expected = expected_answer(families, filters, months)
            asked += 1
            if expected is None:
                assert response.status_code == 422, (params, response.text)
                assert response.json()["error"]["code"] == "unsupported_combination"
                continue
            assert response.status_code == 200, (params, response.text)
            body = response.json()
            key, count, complete = expected
            assert body["meta"]["source"]["key"] == key, params
            assert body["data"] == [{"encounter_count": count}], params
            assert body["meta"]["complete"] is complete, params
            if not complete:
                holders = [f for f in FAMILY_ORDER if families[f].carries_anywhere(dim, value)
                           and dim in families[f].dimensions]
                notes = " ".join(body["meta"]["caveats"])
                assert all(holder in notes for holder in holders), (params, notes)
    assert asked > 300


def test_the_articles_cuba_case_comes_from_the_by_state_family(client, families):
    months = set(h.fiscal_year_months(2022))
    body = h.get_json(client, "/encounters", {"region": "southwest", "fiscal_year": "2022",
                                              "citizenship": "cuba"})
    expected = families["cbp-state-encounters"].total(
        {"region": (SW,), "citizenship": ("CUBA",)}, months)
    assert body["data"] == [{"encounter_count": expected}]
    assert body["meta"]["source"]["key"] == "cbp-state-encounters"


def test_shares_of_values_one_family_lacks_come_from_the_family_that_has_them(client, families):
    encounters = next(d for d in h.get_json(client, "/datasets")["data"] if d["name"] == "encounters")
    sw = next(s for s in encounters["sources"] if s["key"] == "cbp-sw-encounters")
    union = {v for s in encounters["sources"] for v in s["values"].get("citizenship", ())}
    lacking = sorted(union - set(sw["values"]["citizenship"]))
    assert lacking
    for fiscal_year in (2021, 2022, 2024):
        months = set(h.fiscal_year_months(fiscal_year))
        for value in lacking:
            response = client.get("/comparisons/encounter-share", params={
                "region": "southwest", "fiscal_year": str(fiscal_year),
                "part_citizenship": as_param("citizenship", value)})
            expected = expected_answer(families, {"region": (SW,), "citizenship": (value,)}, months)
            if expected is None:
                assert response.status_code == 422, response.text
                continue
            key, part, _complete = expected
            base = families[key].total({"region": (SW,)}, months
                                       & families[key].months_carrying({"region": (SW,)}))
            total = response.json()["data"][0]
            assert response.json()["meta"]["sources"] == [key]
            assert (total["numerator"], total["denominator"]) == (part, base), (value, fiscal_year)
            assert total["share"] == (None if part is None or not base else
                                      pytest.approx(part / base, rel=1e-12))


def test_the_change_of_a_value_one_family_lacks_is_never_zero_to_zero(client, families):
    sw_values = families["cbp-sw-encounters"].vocabulary
    lacking = sorted({v for f in families.values() for dims in f.vocabulary.values()
                      for v in dims.get("citizenship", ())}
                     - {v for dims in sw_values.values() for v in dims["citizenship"]})
    for value in lacking:
        row = h.get_json(client, "/comparisons/change", {
            "dataset": "encounters", "region": "southwest",
            "citizenship": as_param("citizenship", value),
            "before": "FY2021", "after": "FY2022"})["data"][0]
        filters = {"region": (SW,), "citizenship": (value,)}
        for side, fiscal_year in (("before", 2021), ("after", 2022)):
            _key, count, _ = expected_answer(families, filters, set(h.fiscal_year_months(fiscal_year)))
            assert row[f"{side}_value"] == count, (value, side)


def test_a_catch_all_bucket_is_its_own_value_in_each_family(client):
    encounters = next(d for d in h.get_json(client, "/datasets")["data"] if d["name"] == "encounters")
    buckets = {s["key"]: s["catch_all"] for s in encounters["sources"] if s["loaded"]}
    for key, listed in (("cbp-sw-encounters", h.sw_encounters()), ("cbp-state-encounters",
                                                                    h.state_encounters())):
        countries = sorted({r["citizenship"] for r in listed[0]} - {f"OTHER ({key})"})
        (bucket,) = buckets[key]
        assert bucket["value"] == f"OTHER ({key})"
        assert bucket["definition"].startswith(f"every citizenship other than the {len(countries)} ")
        assert all(c in bucket["definition"] for c in countries)
    error = h_error(client, "/encounters", {"citizenship": "other"})
    assert error["accepted"] == ["other-cbp-state-encounters", "other-cbp-sw-encounters"]
    assert "ambiguous" in error["message"]


def h_error(client, path: str, params: dict[str, str], status: int = 422) -> dict[str, Any]:
    response = client.get(path, params=params)
    assert response.status_code == status, (path, params, response.text)
    return response.json()["error"]


# --- 2. no published rows is null, everywhere ---------------------------------------------------

def test_a_drug_and_area_without_published_rows_is_null_and_a_published_zero_is_zero(client):
    months = set(h.fiscal_year_months(2021))
    rows = [r for r in h.seizures()[0] if r["month"] in months]
    drugs = sorted(h.drug_slugs().values())
    areas = sorted(h.seed_areas())
    asked = nulls = zeros = 0
    for drug in drugs:
        for area in areas:
            mine = [r for r in rows if r["drug"] == drug and r["area"] == area]
            body = h.get_json(client, "/seizures", {"drug": drug, "area": area,
                                                    "fiscal_year": "2021"})
            (row,) = body["data"]
            asked += 1
            if not mine:
                nulls += 1
                assert row == {"quantity_lbs": None, "quantity_kg": None, "event_count": None}
                assert body["meta"]["period"] is None
            else:
                lbs = sum(r["quantity_lbs"] for r in mine)
                zeros += lbs == 0
                assert row["quantity_lbs"] == h.lbs(lbs)
                assert row["event_count"] == sum(r["event_count"] for r in mine)
    assert nulls > 100 and asked == len(drugs) * len(areas)


def test_csv_writes_no_data_as_an_empty_field(client):
    response = client.get("/seizures", params={"drug": "khat", "area": "big-bend-sector",
                                               "fiscal_year": "2021", "format": "csv"})
    assert not [r for r in h.seizures()[0] if r["drug"] == "khat" and r["area"] == "big-bend-sector"
                and h.fiscal_year_of(r["month"]) == 2021]
    assert list(csv.reader(io.StringIO(response.text))) == [
        ["quantity_lbs", "quantity_kg", "event_count"], ["", "", ""]]


def test_ports_vs_between_without_published_rows_is_null_in_json_and_csv(client):
    months = set(h.fiscal_year_months(2023))
    rows = [r for r in h.seizures()[0] if r["month"] in months]
    states = {slug: set(a["states"]) for slug, a in h.seed_areas().items()}
    for drug in sorted(h.drug_slugs().values()):
        for region, label in (("southwest", SW), ("northern", "Northern Border"),
                              ("coastal-interior", "Coastal/Interior")):
            for state in ("AZ", "CA", "NM", "TX"):
                mine = [r for r in rows if r["drug"] == drug and r["region"] == label
                        and state in states[r["area"]]]
                params = {"drug": drug, "region": region, "state": state, "fiscal_year": "2023"}
                body = h.get_json(client, "/comparisons/ports-vs-between", params)
                for row in body["data"]:
                    part = [r for r in mine if r["component"] == row["component"]]
                    assert row["denominator"] == (h.lbs(sum(r["quantity_lbs"] for r in mine))
                                                  if mine else None), params
                    assert row["numerator"] == (h.lbs(sum(r["quantity_lbs"] for r in part))
                                                if part else None), params
                if not mine:
                    text = client.get("/comparisons/ports-vs-between",
                                      params={**params, "format": "csv"}).text
                    lines = list(csv.DictReader(io.StringIO(text)))
                    assert [(r["numerator"], r["denominator"], r["share"]) for r in lines] == [
                        ("", "", ""), ("", "", "")]


# --- 3. like with like --------------------------------------------------------------------------

def _months(first: str, last: str) -> list[dt.date]:
    return h.months_between(dt.date.fromisoformat(first + "-01"), dt.date.fromisoformat(last + "-01"))


def test_change_into_a_partial_fiscal_year_compares_the_same_months_for_every_drug(client):
    rows, owner = h.seizures()
    latest = max(owner)
    partial_fy = h.fiscal_year_of(latest)
    after_months = [m for m in h.fiscal_year_months(partial_fy) if m in owner]
    before_months = [dt.date(m.year - 1, m.month, 1) for m in after_months]
    assert 0 < len(after_months) < 12
    for drug in sorted(h.drug_slugs().values()):
        params = {"dataset": "seizures", "drug": drug, "before": f"FY{partial_fy - 1}",
                  "after": f"FY{partial_fy}"}
        row = h.get_json(client, "/comparisons/change", params)["data"][0]
        before = sum(r["quantity_lbs"] for r in rows if r["drug"] == drug and r["month"] in before_months)
        after = sum(r["quantity_lbs"] for r in rows if r["drug"] == drug and r["month"] in after_months)
        assert row["months_compared"] == {"before": [f"{m:%Y-%m}" for m in before_months],
                                          "after": [f"{m:%Y-%m}" for m in after_months]}
        assert (row["before_value"], row["after_value"]) == (h.lbs(before), h.lbs(after)), drug
        assert row["like_for_like"] is True and "same" in row["note"]
        raw = h.get_json(client, "/comparisons/change", {**params, "like_for_like": "false"})["data"][0]
        whole = sum(r["quantity_lbs"] for r in rows if r["drug"] == drug
                    and h.fiscal_year_of(r["month"]) == partial_fy - 1)
        assert raw["before_value"] == h.lbs(whole) and raw["after_value"] == h.lbs(after)
        assert raw["like_for_like"] is False and "not like for like" in raw["note"]


def test_change_of_every_southwest_sector_into_a_partial_year_compares_the_same_months(client):
    rows, owner = h.ohss_encounters()
    partial_fy = h.fiscal_year_of(max(owner))
    after_months = [m for m in h.fiscal_year_months(partial_fy) if m in owner]
    before_months = [dt.date(m.year - 1, m.month, 1) for m in after_months]
    sectors = sorted({r["area"] for r in rows if r["region"] == SW})
    assert len(sectors) == 9
    for sector in sectors:
        row = h.get_json(client, "/comparisons/change", {
            "dataset": "encounters", "sector": sector, "before": f"FY{partial_fy - 1}",
            "after": f"FY{partial_fy}"})["data"][0]
        mine = [r for r in rows if r["area"] == sector]
        assert row["before_value"] == sum(r["encounter_count"] for r in mine
                                          if r["month"] in before_months)
        assert row["after_value"] == sum(r["encounter_count"] for r in mine
                                         if r["month"] in after_months)
        assert len(row["months_compared"]["before"]) == len(after_months)


def test_seizures_vs_encounters_compares_the_months_both_datasets_have(client):
    seizure_rows, seizure_owner = h.seizures()
    state_rows, state_owner = h.state_encounters()
    states = {slug: set(a["states"]) for slug, a in h.seed_areas().items()}
    for fiscal_year in range(2019, 2027):
        months = set(h.fiscal_year_months(fiscal_year)) & set(seizure_owner) & set(state_owner)
        body = h.get_json(client, "/comparisons/seizures-vs-encounters", {
            "drug": "fentanyl", "fiscal_year": str(fiscal_year), "groups": "CA,AZ;NM,TX"})
        for row in body["data"]:
            group = set(row["group"].split(","))
            if not months:
                assert row["ratio"] is None and row["seizure_share"] is None, fiscal_year
                continue
            sw = [r for r in seizure_rows if r["month"] in months and r["drug"] == "fentanyl"
                  and r["region"] == SW]
            seized = sum(r["quantity_lbs"] for r in sw if states[r["area"]] & group)
            enc = [r for r in state_rows if r["month"] in months and r["region"] == SW]
            encountered = sum(r["encounter_count"] for r in enc if r["state"] in group)
            assert row["seizures"] == h.lbs(seized), fiscal_year
            assert row["encounters"] == encountered, fiscal_year
            assert row["encounters_southwest"] == sum(r["encounter_count"] for r in enc)
            expected_ratio = (seized / sum(r["quantity_lbs"] for r in sw)) / (
                encountered / sum(r["encounter_count"] for r in enc))
            assert row["ratio"] == pytest.approx(expected_ratio, rel=1e-9)


# --- 4. every answer says which period it adds up -----------------------------------------------

def _period(months: list[dt.date]) -> dict[str, Any] | None:
    if not months:
        return None
    return {"first_month": f"{min(months):%Y-%m}", "last_month": f"{max(months):%Y-%m}",
            "months": len(months)}


def test_every_monthly_answer_states_the_months_it_adds_up_and_is_complete_or_not(client):
    seizure_months = sorted(h.seizures()[1])
    cases: list[tuple[str, dict[str, str], list[dt.date], bool]] = [
        ("/seizures", {}, seizure_months, True),
        ("/seizures", {"from": "2025-01"}, [m for m in seizure_months if m >= dt.date(2025, 1, 1)],
         True),
    ]
    for fiscal_year in range(2018, 2028):
        wanted = set(h.fiscal_year_months(fiscal_year))
        held = [m for m in seizure_months if m in wanted]
        cases.append(("/seizures", {"fiscal_year": str(fiscal_year)}, held, len(held) == 12))
    for key, family_params in (("cbp-sw-encounters", {"region": "southwest"}),
                               ("cbp-state-encounters", {"state": "TX"}),
                               ("ohss-sector-encounters", {"sector": "tucson"})):
        months = sorted(READERS[key]()[1])
        cases.append(("/encounters", family_params, months, True))
        for fiscal_year in range(2018, 2027):
            wanted = set(h.fiscal_year_months(fiscal_year))
            held = [m for m in months if m in wanted]
            cases.append(("/encounters", {**family_params, "fiscal_year": str(fiscal_year)}, held,
                          len(held) == 12))
    for path, params, months, complete in cases:
        meta = h.get_json(client, path, params)["meta"]
        assert meta["period"] == _period(months), (path, params)
        assert meta["complete"] is complete, (path, params)
        partial = {h.fiscal_year_of(m) for m in months} - {
            fy for fy in {h.fiscal_year_of(m) for m in months}
            if set(h.fiscal_year_months(fy)) <= set(months)}
        if "fiscal_year" not in params and partial:
            assert any(f"FY{fy} is partial" in c for fy in partial for c in meta["caveats"]), params
        if not params or set(params) <= {"region", "state", "sector"}:
            assert any(c.startswith("No period was given") for c in meta["caveats"]), params


def test_every_death_answer_states_the_years_it_adds_up(client):
    national = sorted(set(h.us_deaths()) | set(h.reference_deaths()) | {
        y for (_c, _s, y) in h.drug_deaths()})
    for params, years in (({}, national), ({"from": "2019"}, [y for y in national if y >= 2019]),
                          ({"year": "2021"}, [2021])):
        meta = h.get_json(client, "/overdose-deaths", params)["meta"]
        assert meta["period"] == {"first_year": years[0], "last_year": years[-1],
                                  "years": len(years)}, params
        assert meta["complete"] is True
    meta = h.get_json(client, "/overdose-deaths", {"year": "1990"})["meta"]
    assert meta["period"] is None and meta["complete"] is False


# --- 5. names users type ------------------------------------------------------------------------

def _ports() -> list[dict[str, Any]]:
    return json.loads((h.SEED_DIR / "ports.json").read_text())["ports"]


SUFFIXES = {"port": ("-field-office",), "area": ("-field-office", "-sector"),
            "sector": ("-sector",)}


def test_every_port_of_entry_is_refused_with_its_field_office_never_read_as_its_figure(client):
    """A port's name is refused with its field office, unless the place also names an area
    (El Paso, Laredo, Del Rio): then that area, with a caveat saying the port is not it."""
    areas = set(h.seed_areas())
    for port in _ports():
        name, office = port["name"], port["field_office"]
        for param in ("port", "area", "sector"):
            named = [h.slug(name) + s for s in SUFFIXES[param] if h.slug(name) + s in areas]
            response = client.get("/seizures", params={param: name})
            if len(named) > 1:
                error = h_error(client, "/seizures", {param: name})
                assert "ambiguous" in error["message"] and error["accepted"] == named
            elif named:
                assert response.status_code == 200, (param, name, response.text)
                meta = response.json()["meta"]
                assert meta["filters"]["area"] == named
                assert any(c.startswith(f"{name} is also a port of entry (in the ")
                           for c in meta["caveats"]), (param, name)
            else:
                error = h_error(client, "/seizures", {param: name})
                assert error["parameter"] == param
                assert "port of entry" in error["message"] and "per field office" in error["message"]
                assert error["port_of_entry"]["field_office"] == office
                assert error.get("did_you_mean") == (office if param != "sector" else None), (
                    param, name)
                assert h_error(client, "/encounters", {param: name})["port_of_entry"] == (
                    error["port_of_entry"])
        for crossing in port["crossings"]:
            assert h_error(client, "/seizures", {"port": crossing})["did_you_mean"] == office


def test_each_field_office_lists_its_ports_and_events_filter_by_the_same_list(client):
    rows = {r["slug"]: r for r in h.get_json(client, "/areas")["data"]}
    by_office: dict[str, list[str]] = defaultdict(list)
    for port in _ports():
        by_office[port["field_office"]].append(port["name"])
    for slug, row in rows.items():
        assert row["ports_of_entry"] == by_office.get(slug, []), slug
    events = json.loads((h.SEED_DIR / "seizure_events.json").read_text())["events"]
    for port in _ports():
        found = h.get_json(client, "/seizure-events", {"port": port["name"]})["data"]
        assert sorted(r["slug"] for r in found) == sorted(
            e["slug"] for e in events if e["port_of_entry"] == port["name"])
    assert h_error(client, "/seizure-events", {"port": "nogalez"})["did_you_mean"] == "nogales"


def _misspellings(name: str) -> list[str]:
    """Two typing slips: two letters swapped, a letter dropped."""
    slips = []
    if len(name) > 3:
        slips.append(name[:-3] + name[-2] + name[-3] + name[-1])
        slips.append(name[:-1])
    return [s for s in slips if s != name]


def test_every_misspelt_query_parameter_gets_the_parameter_as_did_you_mean(client):
    spec = client.get("/openapi.json").json()
    checked = 0
    for path, operations in spec["paths"].items():
        operation = operations.get("get")
        if not operation or "{" in path:
            continue
        names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
        for name in names:
            for wrong in _misspellings(name):
                if wrong in names or len(name) < 5:
                    continue
                error = h_error(client, path, {wrong: "1"})
                assert error["parameter"] == wrong and error["did_you_mean"] == name, (path, wrong)
                checked += 1
    assert checked > 100


def test_fiscal_years_written_like_cbp_are_the_same_fiscal_years_everywhere(client):
    spec = client.get("/openapi.json").json()
    paths = [path for path, ops in spec["paths"].items() if "get" in ops and "{" not in path
             and any(p["name"] == "fiscal_year" for p in ops["get"].get("parameters", []))]
    assert {"/seizures", "/encounters", "/comparisons/seizure-share"} <= set(paths)
    extra = {"/comparisons/seizure-share": {"part_area": "san-diego-field-office"},
             "/comparisons/encounter-share": {"region": "southwest", "part_state": "CA"},
             "/comparisons/seizures-vs-encounters": {"groups": "CA,AZ"},
             "/comparisons/change": {"dataset": "seizures", "before": "FY2020", "after": "FY2021"},
             "/revisions": {"dataset": "encounters"}}
    for path in paths:
        plain = client.get(path, params={**extra.get(path, {}), "fiscal_year": "2021"})
        written = client.get(path, params={**extra.get(path, {}), "fiscal_year": "FY2021"})
        assert plain.status_code == 200, (path, plain.text)
        assert _figures(written.json()["data"]) == _figures(plain.json()["data"]), path


def _figures(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows without the request links (they echo the fiscal year as it was written)."""
    return [{k: v for k, v in row.items() if not k.endswith("request")} for row in rows]


def test_two_time_grains_are_refused_with_the_rule_not_a_suggestion(client):
    grains = ("month", "quarter", "fiscal_quarter", "fiscal_year", "calendar_year")
    for path in ("/seizures", "/encounters"):
        for first in grains:
            for second in grains:
                if first == second:
                    continue
                error = h_error(client, path, {"group_by": f"{first},{second}"})
                assert "one time grain" in error["message"]
                assert "did_you_mean" not in error
                assert error["accepted"] == list(grains)


def test_unknown_paths_and_wrong_methods_answer_in_the_error_shape(client):
    spec = client.get("/openapi.json").json()
    templates = {path: re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$")
                 for path in spec["paths"]}
    for path in spec["paths"]:
        concrete = path.replace("{claim_id}", "fentanyl-fy2021-total")
        # Every operation whose path template matches (/claims/verify is also /claims/{claim_id}).
        methods = {m.upper() for p, ops in spec["paths"].items() if templates[p].match(concrete)
                   for m in ops}
        for method in ("put", "delete", "patch"):
            if method.upper() in methods:
                continue
            response = client.request(method.upper(), concrete)
            assert response.status_code == 405, (method, path)
            error = response.json()["error"]
            assert error["code"] == "method_not_allowed" and error["path"] == concrete
            assert set(error["accepted"]) == methods | ({"HEAD"} if "GET" in methods else set())
            assert response.headers["allow"] == ", ".join(error["accepted"])
        if "GET" in methods:
            head = client.head(concrete)
            assert head.status_code == client.get(concrete).status_code and head.content == b""
    response = client.get("/seizure")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found" and error["did_you_mean"] == "/seizures"
    assert "/docs" in error["message"]


def test_an_areas_region_is_the_datas_own_label(client):
    labels: dict[str, tuple[dt.date, str]] = {}
    for rows in (h.seizures()[0], h.ohss_encounters()[0]):
        for row in rows:
            if row["area"] not in labels or row["month"] > labels[row["area"]][0]:
                labels[row["area"]] = (row["month"], row["region"])
    areas = {r["slug"]: r for r in h.get_json(client, "/areas")["data"]}
    assert labels["livermore-sector"][1] == "Northern Border"
    for slug, area in areas.items():
        expected = labels[slug][1] if slug in labels else h.seed_areas()[slug]["region"]
        assert area["region"] == expected, slug
    northern = {r["slug"] for r in h.get_json(client, "/areas", {"region": "northern"})["data"]}
    assert "livermore-sector" in northern


def test_a_share_whose_part_is_published_in_fewer_months_divides_by_the_same_months(
        database_factory, data_dir, tmp_path):
    """A later release without cocaine rows: cocaine is not published for its month, so its share
    of all drugs counts the base over the months cocaine is published in (like with like)."""
    from app.ingest.load import ingest_paths

    header = ("FY,Month (abbv),Component,Region,Land Filter,Area of Responsibility,Drug Type,"
              "Count of Event,Sum Qty (lbs)")
    later = tmp_path / "seizures-fy26-jan.csv"
    later.write_text(header + "\n2026 (FYTD),JAN,Office of Field Operations,Southwest Border,"
                     "Land Only,SAN DIEGO FIELD OFFICE,Fentanyl,7,120.5\n", encoding="utf-8")
    url = database_factory.new()
    engine = database_factory.engine(url)
    ingest_paths(engine, [str(p) for p in sorted(data_dir.glob("cbp-drug-seizures-*.csv"))]
                 + [str(later)])
    rows, owner = h.seizures()
    fy2026 = [m for m in h.fiscal_year_months(2026) if m in owner]
    cocaine = sum(r["quantity_lbs"] for r in rows if r["month"] in fy2026 and r["drug"] == "cocaine")
    everything = sum(r["quantity_lbs"] for r in rows if r["month"] in fy2026)
    with h.api_client(url) as client:
        body = h.get_json(client, "/comparisons/seizure-share", {
            "fiscal_year": "2026", "part_drug": "cocaine"})
        total = body["data"][0]
        assert total["numerator"] == h.lbs(cocaine)
        assert total["denominator"] == h.lbs(everything)
        assert "same 3 month(s)" in body["meta"]["share_note"]
        whole = h.get_json(client, "/seizures", {"fiscal_year": "2026"})["data"][0]
        assert whole["quantity_lbs"] == h.lbs(everything + 120.5)
