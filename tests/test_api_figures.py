"""Figures served by /seizures, /encounters and /overdose-deaths, against the official files.

Every expected figure is computed here from ../shared/data with the csv module (tests/api_helpers.py),
never copied from the API: quantities at 1e-9 relative, counts exactly.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import api_helpers as h
import pytest

from app.datasets import DATASETS
from app.query.build import build
from app.query.parse import resolve_filters
from app.query.result import Shaper, finish
from app.query.sources import choose_family

LBS_TO_KG = 0.45359237
SW = "Southwest Border"


@pytest.fixture(scope="module")
def client(loaded_url: str):
    with h.api_client(loaded_url) as test_client:
        yield test_client


def seizure_rows(predicate=lambda r: True) -> list[dict[str, Any]]:
    return [r for r in h.seizures()[0] if predicate(r)]


def in_fy(*years: int):
    return lambda r: h.fiscal_year_of(r["month"]) in years


def assert_seizure_rows(api_rows: list[dict], expected: dict[tuple, dict], names: list[str]) -> None:
    got = {tuple(row[n] for n in names): row for row in api_rows}
    assert len(got) == len(api_rows), "a key appears twice"
    assert set(got) == set(expected)
    for key, sums in expected.items():
        row = got[key]
        assert row["event_count"] == sums["event_count"], key
        assert row["quantity_lbs"] == h.lbs(sums["quantity_lbs"]), key
        assert row["quantity_kg"] == h.lbs(sums["quantity_lbs"] * LBS_TO_KG), key


def assert_counts(api_rows: list[dict], expected: dict[tuple, dict], names: list[str],
                  measure: str = "encounter_count") -> None:
    got = {tuple(row[n] for n in names): row[measure] for row in api_rows}
    assert len(got) == len(api_rows), "a key appears twice"
    assert got == {k: v[measure] for k, v in expected.items()}


SEIZURE_MEASURES = ("event_count", "quantity_lbs")


# --- seizures ------------------------------------------------------------------------------------

def test_san_diego_field_office_fentanyl_fy2021_by_month_sums_to_the_files_figure(client):
    rows = h.rows_of(client, "/seizures", {"drug": "fentanyl", "area": "san-diego-field-office",
                                           "fiscal_year": "2021", "group_by": "month"})
    mine = seizure_rows(lambda r: r["drug"] == "fentanyl" and r["area"] == "san-diego-field-office"
                        and h.fiscal_year_of(r["month"]) == 2021)
    expected = h.aggregate(mine, [h.by_grain("month")], SEIZURE_MEASURES)
    assert [r["month"] for r in rows] == [f"{m:%Y-%m}" for m in h.fiscal_year_months(2021)]
    assert_seizure_rows(rows, expected, ["month"])
    assert sum(r["quantity_lbs"] for r in rows) == h.lbs(h.total(mine, "quantity_lbs"))
    assert round(sum(r["quantity_lbs"] for r in rows), 1) == 6354.3  # SOURCES.md spot check


@pytest.mark.parametrize("grain", h.MONTHLY_GRAINS)
def test_fentanyl_seizures_by_each_grain_match_the_files(client, grain):
    body = h.get_json(client, "/seizures", {"drug": "fentanyl", "group_by": grain, "limit": "10000"})
    rows, owner = h.seizures()
    mine = [r for r in rows if r["drug"] == "fentanyl"]
    expected = h.aggregate(mine, [h.by_grain(grain)], SEIZURE_MEASURES)
    assert_seizure_rows(body["data"], expected, [grain])
    complete = h.complete_keys(grain, owner)
    assert {r[grain]: r["period_complete"] for r in body["data"]} == {
        k[0]: k[0] in complete for k in expected}
    assert body["meta"]["grain"] == grain and body["meta"]["total_rows"] == len(expected)
    keys = [r[grain] for r in body["data"]]
    assert keys == sorted(keys)


SEIZURE_GROUPINGS = [
    pytest.param(
        {"region": "southwest", "fiscal_year": "2021,2022", "group_by": "area,drug,fiscal_year"},
        lambda r: r["region"] == SW and h.fiscal_year_of(r["month"]) in (2021, 2022),
        [("area", h.field("area")), ("drug", h.field("drug")),
         ("fiscal_year", h.by_grain("fiscal_year"))], id="area-drug-fiscal_year"),
    pytest.param(
        {"drug": "cocaine", "group_by": "component,region,calendar_year"},
        lambda r: r["drug"] == "cocaine",
        [("component", h.field("component")), ("region", h.field("region")),
         ("calendar_year", h.by_grain("calendar_year"))], id="component-region-calendar_year"),
    pytest.param(
        {"fiscal_year": "2023", "group_by": "land_filter,drug"},
        in_fy(2023), [("land_filter", h.field("land_filter")), ("drug", h.field("drug"))],
        id="land_filter-drug"),
    pytest.param(
        {"component": "usbp", "from": "2022-10", "to": "2023-06", "group_by": "drug,fiscal_quarter"},
        lambda r: r["component"] == "USBP" and dt.date(2022, 10, 1) <= r["month"] <= dt.date(2023, 6, 1),
        [("drug", h.field("drug")), ("fiscal_quarter", h.by_grain("fiscal_quarter"))],
        id="drug-fiscal_quarter"),
    pytest.param(
        {"drug": "meth", "area": "tucson-field-office,yuma-sector", "calendar_year": "2024",
         "group_by": "area,quarter"},
        lambda r: r["drug"] == "methamphetamine" and r["month"].year == 2024
        and r["area"] in ("tucson-field-office", "yuma-sector"),
        [("area", h.field("area")), ("quarter", h.by_grain("quarter"))], id="area-quarter"),
    pytest.param(
        {"land_filter": "other", "region": "northern", "group_by": "component,month",
         "month": "2019-01,2023-07"},
        lambda r: r["land_filter"] == "Other" and r["region"] == "Northern Border"
        and r["month"] in (dt.date(2019, 1, 1), dt.date(2023, 7, 1)),
        [("component", h.field("component")), ("month", h.by_grain("month"))], id="component-month"),
]


@pytest.mark.parametrize(("params", "predicate", "keys"), SEIZURE_GROUPINGS)
def test_seizures_grouped_by_dimensions_match_the_files(client, params, predicate, keys):
    rows = h.rows_of(client, "/seizures", params)
    expected = h.aggregate(seizure_rows(predicate), [k for _, k in keys], SEIZURE_MEASURES)
    assert expected, "the case selects no rows: it would test nothing"
    assert_seizure_rows(rows, expected, [n for n, _ in keys])


FILTER_SPELLINGS = [
    pytest.param({"drug": "meth"}, lambda r: r["drug"] == "methamphetamine", id="alias-meth"),
    pytest.param({"drug": "METHAMPHETAMINE"}, lambda r: r["drug"] == "methamphetamine", id="upper"),
    pytest.param({"drug": "Fentanyl, Cocaine"}, lambda r: r["drug"] in ("fentanyl", "cocaine"),
                 id="comma-list"),
    pytest.param([("drug", "fentanyl"), ("drug", "cocaine")],
                 lambda r: r["drug"] in ("fentanyl", "cocaine"), id="repeated-param"),
    pytest.param({"drug": "mdma"}, lambda r: r["drug"] == "ecstasy", id="alias-mdma"),
    pytest.param({"port": "san diego"}, lambda r: r["area"] == "san-diego-field-office",
                 id="port-bare-name-is-field-office"),
    pytest.param({"area": "RGV"}, lambda r: r["area"] == "rio-grande-valley-sector", id="alias-rgv"),
    pytest.param({"area": "Tucson Sector"}, lambda r: r["area"] == "tucson-sector", id="area-name"),
    pytest.param({"area": "SAN DIEGO FIELD OFFICE"}, lambda r: r["area"] == "san-diego-field-office",
                 id="area-upper-official"),
    pytest.param({"component": "Office of Field Operations"}, lambda r: r["component"] == "OFO",
                 id="component-name"),
    pytest.param({"component": "USBP"}, lambda r: r["component"] == "USBP", id="component-upper"),
    pytest.param({"region": "Southwest Border"}, lambda r: r["region"] == SW, id="region-name"),
    pytest.param({"region": "coastal-interior"}, lambda r: r["region"] == "Coastal/Interior",
                 id="region-slug"),
    pytest.param({"land_filter": "Land Only"}, lambda r: r["land_filter"] == "Land Only",
                 id="land-filter"),
]


@pytest.mark.parametrize(("params", "predicate"), FILTER_SPELLINGS)
def test_filter_spellings_select_the_same_rows_as_the_files(client, params, predicate):
    extra = [("fiscal_year", "2022")]
    items = list(params.items()) if isinstance(params, dict) else list(params)
    body = h.get_json(client, "/seizures", items + extra)
    mine = seizure_rows(lambda r: predicate(r) and h.fiscal_year_of(r["month"]) == 2022)
    assert mine
    [row] = body["data"]
    assert row["event_count"] == h.total(mine, "event_count")
    assert row["quantity_lbs"] == h.lbs(h.total(mine, "quantity_lbs"))


def test_sector_parameter_is_a_synonym_of_area_for_seizures(client):
    body = h.get_json(client, "/seizures", {"sector": "rgv", "fiscal_year": "2022"})
    mine = seizure_rows(lambda r: r["area"] == "rio-grande-valley-sector" and in_fy(2022)(r))
    assert body["data"][0]["quantity_lbs"] == h.lbs(h.total(mine, "quantity_lbs"))
    assert body["data"][0]["event_count"] == h.total(mine, "event_count")
    assert body["meta"]["filters"]["area"] == ["rio-grande-valley-sector"]
    refused = client.get("/seizures", params={"sector": "san-diego-field-office"})
    assert refused.status_code == 422 and refused.json()["error"]["parameter"] == "sector"


def test_seizures_by_state_use_the_states_of_each_area(client):
    rows = h.rows_of(client, "/seizures", {"drug": "fentanyl", "region": "southwest",
                                           "fiscal_year": "2021", "group_by": "state"})
    mine = seizure_rows(lambda r: r["drug"] == "fentanyl" and r["region"] == SW and in_fy(2021)(r))
    expected = h.aggregate(mine, [lambda r: h.area_states_label(r["area"])], SEIZURE_MEASURES)
    assert set(expected) == {("AZ",), ("AZ,CA",), ("CA",), ("NM,TX",), ("TX",)}
    assert_seizure_rows(rows, expected, ["state"])


@pytest.mark.parametrize("state", ["NM", "CA", "AZ", "Texas"])
def test_seizure_state_filter_takes_every_area_covering_the_state(client, state):
    code = {"Texas": "TX"}.get(state, state)
    rows = h.rows_of(client, "/seizures", {"state": state, "fiscal_year": "2023", "group_by": "area"})
    mine = seizure_rows(lambda r: code in h.seed_areas()[r["area"]]["states"] and in_fy(2023)(r))
    expected = h.aggregate(mine, [h.field("area")], SEIZURE_MEASURES)
    assert_seizure_rows(rows, expected, ["area"])
    if code == "NM":
        assert {r["area"] for r in rows} == {"el-paso-field-office", "el-paso-sector"}


def test_seizure_state_grouping_with_a_grain_keeps_every_pound(client):
    rows = h.rows_of(client, "/seizures", {"state": "CA,AZ", "group_by": "state,fiscal_year",
                                           "drug": "fentanyl"})
    mine = seizure_rows(lambda r: r["drug"] == "fentanyl"
                        and {"CA", "AZ"} & set(h.seed_areas()[r["area"]]["states"]))
    expected = h.aggregate(mine, [lambda r: h.area_states_label(r["area"]),
                                  h.by_grain("fiscal_year")], SEIZURE_MEASURES)
    assert_seizure_rows(rows, expected, ["state", "fiscal_year"])


def test_seizure_meta_names_filters_as_understood_coverage_and_caveats(client):
    body = h.get_json(client, "/seizures", {"drug": "Meth,fent", "port": "San Diego",
                                            "component": "ofo", "region": "sw", "land_filter": "land",
                                            "fiscal_year": "2022", "from": "2021-11", "to": "2022-02"})
    meta = body["meta"]
    assert meta["filters"] == {
        "drug": ["methamphetamine", "fentanyl"], "area": ["san-diego-field-office"],
        "component": ["OFO"], "region": [SW], "land_filter": ["Land Only"],
        "fiscal_year": [2022], "from": "2021-11", "to": "2022-02"}
    _, owner = h.seizures()
    assert meta["coverage"] == {"first_month": f"{min(owner):%Y-%m}", "last_month": f"{max(owner):%Y-%m}"}
    assert meta["complete"] is True and meta["total_rows"] == 1 and meta["next"] is None
    assert meta["measures"]["quantity_kg"]["unit"] == "kg"
    assert meta["caveats"] == []
    mine = seizure_rows(lambda r: r["drug"] in ("methamphetamine", "fentanyl")
                        and r["area"] == "san-diego-field-office" and r["land_filter"] == "Land Only"
                        and dt.date(2021, 11, 1) <= r["month"] <= dt.date(2022, 2, 1))
    assert body["data"][0]["quantity_lbs"] == h.lbs(h.total(mine, "quantity_lbs"))


@pytest.mark.parametrize("fiscal_years", [(2019,), (2021,), (2022, 2023), (2025, 2026), ()])
def test_seizure_releases_are_the_files_current_for_the_requested_months(client, fiscal_years):
    params = {"fiscal_year": ",".join(map(str, fiscal_years))} if fiscal_years else {}
    meta = h.get_json(client, "/seizures", params)["meta"]
    _, owner = h.seizures()
    wanted = {f for m, f in owner.items() if not fiscal_years or h.fiscal_year_of(m) in fiscal_years}
    assert {r["file_name"] for r in meta["releases"]} == wanted
    for release in meta["releases"]:
        months = [m for m, f in owner.items() if f == release["file_name"]]
        assert release["source"] == "cbp-seizures"
        assert release["period_end"] >= f"{max(months):%Y-%m}"
        assert len(release["sha256"]) == 64


def test_fiscal_year_2026_of_seizures_is_flagged_incomplete(client):
    body = h.get_json(client, "/seizures", {"group_by": "fiscal_year"})
    rows, owner = h.seizures()
    expected = h.aggregate(rows, [h.by_grain("fiscal_year")], SEIZURE_MEASURES)
    assert_seizure_rows(body["data"], expected, ["fiscal_year"])
    flags = {r["fiscal_year"]: r["period_complete"] for r in body["data"]}
    assert flags == {fy: fy != 2026 for fy in range(2019, 2027)}
    assert sorted(m for m in owner if h.fiscal_year_of(m) == 2026) == [
        dt.date(2025, 10, 1), dt.date(2025, 11, 1), dt.date(2025, 12, 1)]
    assert any("FY2026" in c and "partial" in c for c in body["meta"]["caveats"])
    assert any("period_complete=false" in c for c in body["meta"]["caveats"])


def test_fiscal_year_row_restricted_by_from_is_not_complete(client):
    body = h.get_json(client, "/seizures", {"fiscal_year": "2021", "from": "2021-01",
                                            "group_by": "fiscal_year", "drug": "heroin"})
    mine = seizure_rows(lambda r: r["drug"] == "heroin" and in_fy(2021)(r)
                        and r["month"] >= dt.date(2021, 1, 1))
    [row] = body["data"]
    assert row["fiscal_year"] == 2021 and row["period_complete"] is False
    assert row["quantity_lbs"] == h.lbs(h.total(mine, "quantity_lbs"))
    assert body["meta"]["complete"] is True  # every requested month is covered


@pytest.mark.parametrize(("fiscal_year", "complete"), [("2025", True), ("2018", False),
                                                       ("2026", False)])
def test_request_complete_says_whether_the_data_cover_every_requested_month(client, fiscal_year,
                                                                            complete):
    body = h.get_json(client, "/seizures", {"fiscal_year": fiscal_year})
    assert body["meta"]["complete"] is complete
    mine = seizure_rows(in_fy(int(fiscal_year)))
    if mine:
        assert body["data"][0]["event_count"] == h.total(mine, "event_count")
    else:
        assert body["data"] == [{"quantity_lbs": None, "quantity_kg": None, "event_count": None}]


def test_total_rows_counts_every_group_not_only_the_page(client):
    body = h.get_json(client, "/seizures", {"group_by": "area,fiscal_year", "limit": "5",
                                            "sort": "-quantity_lbs"})
    rows, _ = h.seizures()
    expected = h.aggregate(rows, [h.field("area"), h.by_grain("fiscal_year")], SEIZURE_MEASURES)
    assert body["meta"]["total_rows"] == len(expected)
    assert body["meta"]["row_count"] == 5
    top = sorted(expected.values(), key=lambda s: -s["quantity_lbs"])[:5]
    assert [r["quantity_lbs"] for r in body["data"]] == [h.lbs(s["quantity_lbs"]) for s in top]


def test_small_quantities_keep_the_files_precision(client):
    body = h.get_json(client, "/seizures", {"area": "baltimore-field-office", "drug": "ketamine",
                                            "month": "2020-04"})
    mine = seizure_rows(lambda r: r["area"] == "baltimore-field-office" and r["drug"] == "ketamine"
                        and r["month"] == dt.date(2020, 4, 1))
    assert h.total(mine, "quantity_lbs") == pytest.approx(0.017416519, rel=1e-9)
    assert body["data"][0]["quantity_lbs"] == pytest.approx(h.total(mine, "quantity_lbs"), rel=1e-9)


# --- encounters ----------------------------------------------------------------------------------

def state_rows(predicate=lambda r: True) -> list[dict]:
    return [r for r in h.state_encounters()[0] if predicate(r)]


def sw_rows(predicate=lambda r: True) -> list[dict]:
    return [r for r in h.sw_encounters()[0] if predicate(r)]


def test_ca_az_southwest_encounters_fy2022_equal_the_by_state_files_sum(client):
    body = h.get_json(client, "/encounters", {"state": "CA,AZ", "region": "southwest",
                                              "fiscal_year": "2022"})
    mine = state_rows(lambda r: r["state"] in ("CA", "AZ") and r["region"] == SW
                      and h.fiscal_year_of(r["month"]) == 2022)
    assert body["data"] == [{"encounter_count": h.total(mine, "encounter_count")}]
    assert body["data"][0]["encounter_count"] == 571_482 + 330_459  # SOURCES.md spot check
    assert body["meta"]["source"]["key"] == "cbp-state-encounters"
    assert {r["file_name"] for r in body["meta"]["releases"]} == {h.STATE_FILE}


@pytest.mark.parametrize("grain", h.MONTHLY_GRAINS)
def test_southwest_encounters_by_each_grain_come_from_the_southwest_files(client, grain):
    body = h.get_json(client, "/encounters", {"region": "southwest", "group_by": f"component,{grain}",
                                              "limit": "10000"})
    rows, owner = h.sw_encounters()
    expected = h.aggregate(rows, [h.field("component"), h.by_grain(grain)], ["encounter_count"])
    assert_counts(body["data"], expected, ["component", grain])
    complete = h.complete_keys(grain, owner)
    assert all(r["period_complete"] is (r[grain] in complete) for r in body["data"])
    assert body["meta"]["source"] == {"key": "cbp-sw-encounters",
                                      "title": "CBP Southwest Land Border Encounters", "exact": True}
    assert {r["file_name"] for r in body["meta"]["releases"]} == set(h.SW_FILES)


SW_DIMENSIONS = [
    pytest.param({"group_by": "demographic"}, None, "demographic", id="demographic"),
    pytest.param({"group_by": "citizenship", "component": "usbp"},
                 lambda r: r["component"] == "USBP", "citizenship", id="citizenship"),
    pytest.param({"group_by": "title_of_authority", "demographic": "uac"},
                 lambda r: r["demographic"] == "Unaccompanied Children (UC / UAC)",
                 "title_of_authority", id="title"),
    pytest.param({"group_by": "encounter_type", "citizenship": "Mexico,guatemala"},
                 lambda r: r["citizenship"] in ("MEXICO", "GUATEMALA"), "encounter_type", id="type"),
    pytest.param({"group_by": "demographic", "title_of_authority": "t8",
                  "encounter_type": "apprehension"},
                 lambda r: r["title_of_authority"] == "Title 8"
                 and r["encounter_type"] == "Apprehensions", "demographic", id="title-8-apprehensions"),
    pytest.param({"group_by": "component", "title_of_authority": "Title 42"},
                 lambda r: r["title_of_authority"] == "Title 42", "component", id="title-42"),
]


@pytest.mark.parametrize("fiscal_year", [2021, 2022, 2023])
@pytest.mark.parametrize(("params", "predicate", "dimension"), SW_DIMENSIONS)
def test_southwest_encounter_dimensions_match_the_current_southwest_file(client, params, predicate,
                                                                         dimension, fiscal_year):
    body = h.get_json(client, "/encounters", {"region": "southwest", "fiscal_year": str(fiscal_year),
                                              **params})
    rows, owner = h.sw_encounters()
    mine = [r for r in rows if h.fiscal_year_of(r["month"]) == fiscal_year
            and (predicate is None or predicate(r))]
    expected = h.aggregate(mine, [h.field(dimension)], ["encounter_count"])
    assert expected, "the case selects no rows: it would test nothing"
    assert_counts(body["data"], expected, [dimension])
    assert body["meta"]["source"]["key"] == "cbp-sw-encounters"
    files = {owner[m] for m in h.fiscal_year_months(fiscal_year)}
    assert len(files) == 1
    assert {r["file_name"] for r in body["meta"]["releases"]} == files


def test_southwest_fiscal_year_totals_match_the_spot_checks(client):
    rows = h.rows_of(client, "/encounters", {"region": "southwest", "group_by": "fiscal_year"})
    got = {r["fiscal_year"]: r["encounter_count"] for r in rows}
    assert got == {2019: 977_509, 2020: 458_088, 2021: 1_734_686, 2022: 2_378_944,
                   2023: 2_475_669, 2024: 2_135_005, 2025: 432_059}
    assert {r["fiscal_year"]: r["period_complete"] for r in rows}[2025] is False


@pytest.mark.parametrize("grain", h.MONTHLY_GRAINS)
def test_state_encounters_by_each_grain_come_from_the_by_state_file(client, grain):
    body = h.get_json(client, "/encounters", {"region": "southwest", "group_by": f"state,{grain}",
                                              "limit": "10000"})
    rows, owner = h.state_encounters()
    mine = [r for r in rows if r["region"] == SW]
    expected = h.aggregate(mine, [h.field("state"), h.by_grain(grain)], ["encounter_count"])
    assert_counts(body["data"], expected, ["state", grain])
    complete = h.complete_keys(grain, owner)
    assert all(r["period_complete"] is (r[grain] in complete) for r in body["data"])
    assert body["meta"]["source"]["key"] == "cbp-state-encounters"


def test_nationwide_encounters_without_region_come_from_the_by_state_file(client):
    rows = h.rows_of(client, "/encounters", {"group_by": "region", "fiscal_year": "2021",
                                             "citizenship": "china-peoples-republic-of,india"})
    mine = state_rows(lambda r: h.fiscal_year_of(r["month"]) == 2021
                      and r["citizenship"] in ("CHINA, PEOPLES REPUBLIC OF", "INDIA"))
    expected = h.aggregate(mine, [h.field("region")], ["encounter_count"])
    assert_counts(rows, expected, ["region"])


def test_state_names_and_codes_mean_the_same_state(client):
    a = h.get_json(client, "/encounters", {"state": "texas,New Mexico", "fiscal_year": "2023"})
    b = h.get_json(client, "/encounters", [("state", "tx"), ("state", "NM"), ("fiscal_year", "2023")])
    mine = state_rows(lambda r: r["state"] in ("TX", "NM") and h.fiscal_year_of(r["month"]) == 2023)
    assert a["data"] == b["data"] == [{"encounter_count": h.total(mine, "encounter_count")}]
    assert a["meta"]["filters"]["state"] == ["TX", "NM"]


OHSS_FY2022 = {"del-rio-sector": 480_940, "rio-grande-valley-sector": 468_120,
               "yuma-sector": 310_110, "el-paso-sector": 307_850, "tucson-sector": 252_000,
               "san-diego-sector": 176_290, "laredo-sector": 106_850, "el-centro-sector": 72_400,
               "big-bend-sector": 31_960}


def test_sector_encounters_come_from_the_rounded_ohss_series(client):
    body = h.get_json(client, "/encounters", {"group_by": "sector", "region": "southwest",
                                              "fiscal_year": "2022"})
    rows, owner = h.ohss_encounters()
    mine = [r for r in rows if r["region"] == SW and h.fiscal_year_of(r["month"]) == 2022]
    expected = h.aggregate(mine, [h.field("area")], ["encounter_count"])
    assert_counts(body["data"], expected, ["area"])
    assert {r["area"]: r["encounter_count"] for r in body["data"]} == OHSS_FY2022
    meta = body["meta"]
    assert meta["source"]["key"] == "ohss-sector-encounters" and meta["source"]["exact"] is False
    assert any("rounds" in c and "nearest 10" in c for c in meta["caveats"])
    assert {r["file_name"] for r in meta["releases"]} == {owner[m] for m in h.fiscal_year_months(2022)}
    assert meta["coverage"] == {"first_month": f"{min(owner):%Y-%m}", "last_month": f"{max(owner):%Y-%m}"}


@pytest.mark.parametrize("grain", h.MONTHLY_GRAINS)
def test_one_sectors_encounters_by_each_grain_match_the_ohss_file(client, grain):
    body = h.get_json(client, "/encounters", {"sector": "rgv", "group_by": grain, "limit": "10000",
                                              "from": "2018-11", "to": "2024-11"})
    rows, owner = h.ohss_encounters()
    mine = [r for r in rows if r["area"] == "rio-grande-valley-sector"
            and dt.date(2018, 11, 1) <= r["month"] <= dt.date(2024, 11, 1)]
    expected = h.aggregate(mine, [h.by_grain(grain)], ["encounter_count"])
    assert_counts(body["data"], expected, [grain])
    requested = [m for m in owner if dt.date(2018, 11, 1) <= m <= dt.date(2024, 11, 1)]
    complete = h.complete_keys(grain, requested)
    assert {r[grain]: r["period_complete"] for r in body["data"]} == {
        k[0]: k[0] in complete for k in expected}
    assert body["meta"]["source"]["key"] == "ohss-sector-encounters"


@pytest.mark.parametrize(("params", "area"), [
    ({"sector": "El Paso"}, "el-paso-sector"),
    ({"sector": "RIO GRANDE VALLEY"}, "rio-grande-valley-sector"),
    ({"area": "tucson-sector"}, "tucson-sector"),
    ({"area": "Yuma, AZ"}, None),  # the comma splits the list: Yuma and AZ (refused below)
    ({"sector": "big-bend", "component": "usbp"}, "big-bend-sector"),
])
def test_sector_spellings_select_that_sector(client, params, area):
    response = client.get("/encounters", params={**params, "fiscal_year": "2023"})
    if area is None:
        assert response.status_code == 422
        return
    assert response.status_code == 200, response.text
    mine = [r for r in h.ohss_encounters()[0]
            if r["area"] == area and h.fiscal_year_of(r["month"]) == 2023]
    assert response.json()["data"] == [{"encounter_count": h.total(mine, "encounter_count")}]
    assert response.json()["meta"]["filters"]["area"] == [area]


# --- overdose deaths -----------------------------------------------------------------------------

def national_total(year: int) -> int:
    if year in h.reference_deaths():
        return h.reference_deaths()[year]
    if year in h.us_deaths():
        return h.us_deaths()[year]
    return h.drug_deaths()[("total", "all", year)]


def test_national_deaths_by_year_equal_the_national_files(client):
    body = h.get_json(client, "/overdose-deaths", {"group_by": "year"})
    years = sorted({k[2] for k in h.drug_deaths()} | set(h.us_deaths()) | set(h.reference_deaths()))
    assert [(r["year"], r["deaths"], r["rate"], r["period_complete"]) for r in body["data"]] == [
        (y, national_total(y), None, True) for y in years]
    assert {r["file_name"] for r in body["meta"]["releases"]} == {
        h.national_death_file(y) for y in years}
    assert body["meta"]["filters"] == {"state": ["US"], "category": ["total"], "sex": ["all"]}
    assert body["meta"]["coverage"] == {"first_year": min(years), "last_year": max(years)}


def test_national_deaths_are_never_a_sum_of_states(client):
    body = h.get_json(client, "/overdose-deaths", {"year": "2021"})
    states_sum = sum(d for (_s, y), (d, _r) in h.state_deaths().items() if y == 2021)
    assert states_sum == 106_249
    assert body["data"] == [{"deaths": 106_699, "rate": None}]
    assert body["data"][0]["deaths"] == h.us_deaths()[2021]
    assert [r["file_name"] for r in body["meta"]["releases"]] == [h.national_death_file(2021)]
    us = h.get_json(client, "/overdose-deaths", {"year": "2021", "state": "US"})
    assert us["data"] == body["data"]


def test_deaths_by_state_carry_the_published_rate(client):
    body = h.get_json(client, "/overdose-deaths", {"group_by": "state", "year": "2021"})
    expected = {s: v for (s, y), v in h.state_deaths().items() if y == 2021}
    assert {r["state"]: (r["deaths"], r["rate"]) for r in body["data"]} == expected
    assert len(body["data"]) == 50 and "US" not in {r["state"] for r in body["data"]}
    assert [r["file_name"] for r in body["meta"]["releases"]] == [h.STATE_DEATHS_FILE]


def test_deaths_for_named_states_by_year(client):
    rows = h.rows_of(client, "/overdose-deaths", {"state": "arizona,TX,nm",
                                                  "group_by": "state,year", "from": "2015",
                                                  "to": "2020"})
    expected = {(s, y): v for (s, y), v in h.state_deaths().items()
                if s in ("AZ", "TX", "NM") and 2015 <= y <= 2020}
    assert {(r["state"], r["year"]): (r["deaths"], r["rate"]) for r in rows} == expected
    assert [(r["year"], r["state"]) for r in rows] == sorted((y, s) for s, y in expected)


def test_a_sum_of_state_rows_has_deaths_but_no_rate(client):
    body = h.get_json(client, "/overdose-deaths", {"state": "AZ,NM", "year": "2021"})
    sd = h.state_deaths()
    assert body["data"] == [{"deaths": sd[("AZ", 2021)][0] + sd[("NM", 2021)][0], "rate": None}]


def test_deaths_by_category_match_the_by_drug_file(client):
    body = h.get_json(client, "/overdose-deaths", {"group_by": "category", "year": "2021"})
    expected = {c: d for (c, s, y), d in h.drug_deaths().items() if s == "all" and y == 2021}
    assert {r["category"]: r["deaths"] for r in body["data"]} == expected
    assert len(expected) == 32 - 2  # 32 categories less Female and Male
    assert any("overlap" in c for c in body["meta"]["caveats"])


@pytest.mark.parametrize("spelling", ["fentanyl", "synthetic-opioids", "Synthetic Opioids"])
def test_fentanyl_is_an_alias_of_synthetic_opioids(client, spelling):
    body = h.get_json(client, "/overdose-deaths", {"category": spelling, "group_by": "year",
                                                   "from": "2013"})
    expected = {y: d for (c, s, y), d in h.drug_deaths().items()
                if c == "synthetic-opioids" and s == "all" and y >= 2013}
    assert {r["year"]: r["deaths"] for r in body["data"]} == expected
    assert body["meta"]["filters"]["category"] == ["synthetic-opioids"]


def test_deaths_by_sex_match_the_by_drug_file(client):
    rows = h.rows_of(client, "/overdose-deaths", {"category": "heroin,total", "group_by": "category,sex,year",
                                                  "year": "2019,2021"})
    expected = {(c, s, y): d for (c, s, y), d in h.drug_deaths().items()
                if c in ("heroin", "total") and y in (2019, 2021)}
    assert len(expected) == 12
    assert {(r["category"], r["sex"], r["year"]): r["deaths"] for r in rows} == expected
    female = h.get_json(client, "/overdose-deaths", {"sex": "Female", "year": "2021"})
    assert female["data"][0]["deaths"] == h.drug_deaths()[("total", "female", 2021)]


@pytest.mark.parametrize("params", [
    {"state": "AZ", "category": "heroin", "year": "2021"},
    {"state": "AZ", "sex": "female", "year": "2021"},
], ids=["state-category", "state-sex"])
def test_state_death_breakdowns_no_one_publishes_are_refused(client, params):
    response = client.get("/overdose-deaths", params=params)
    assert response.status_code == 422
    assert "published for the total of all drugs and both sexes only" in (
        response.json()["error"]["message"])


def test_a_state_the_table_leaves_out_is_null_and_incomplete_not_zero(client):
    assert ("DC", 2021) not in h.state_deaths()
    body = h.get_json(client, "/overdose-deaths", {"state": "DC", "year": "2021"})
    assert body["data"] == [{"deaths": None, "rate": None}]
    assert body["meta"]["complete"] is False


# --- rollups -------------------------------------------------------------------------------------

ROLLUP_QUERIES = [
    ("seizures", {}),
    ("seizures", {"drug": "fentanyl", "group_by": "fiscal_year"}),
    ("seizures", {"group_by": "area,month", "fiscal_year": "2022"}),
    ("seizures", {"state": "TX", "group_by": "state,quarter"}),
    ("seizures", {"group_by": "drug,land_filter,calendar_year", "region": "southwest"}),
    ("seizures", {"group_by": "component,region,fiscal_quarter", "drug": "cocaine,heroin"}),
    ("seizures", {"area": "yuma-sector", "drug": "marijuana", "group_by": "month"}),
    ("encounters", {"region": "southwest", "group_by": "demographic,fiscal_year"}),
    ("encounters", {"region": "southwest", "group_by": "citizenship,encounter_type,month"}),
    ("encounters", {"state": "TX,CA", "group_by": "state,calendar_year"}),
    ("encounters", {"group_by": "sector,fiscal_year", "region": "northern"}),
    ("encounters", {"region": "southwest", "component": "ofo", "title_of_authority": "title-8",
                    "group_by": "quarter"}),
]


@pytest.mark.parametrize(("dataset", "params"), ROLLUP_QUERIES)
def test_results_are_identical_with_and_without_rollups(client, dataset, params):
    state = client.app.state

    async def both():
        catalog = await state.catalogs.get()
        filters = {k: v for k, v in params.items() if k != "group_by"}
        spec = resolve_filters(DATASETS[dataset], filters, catalog)
        if "group_by" in params:
            grouped = h.DATA_MODELS[dataset].model_validate(
                {**{k: [v] for k, v in filters.items()}, "group_by": [params["group_by"]],
                 "limit": "10000"})
            spec = grouped.resolve(catalog)
        out = []
        async with state.engine.connect() as conn:
            for use in (True, False):
                the_plan = build(spec, choose_family(spec, catalog), catalog, use_rollups=use)
                executed = await conn.execute(the_plan.statement, the_plan.parameters())
                raw = executed.all()
                shaper = Shaper.for_plan(the_plan, catalog, list(executed.keys()))
                out.append(finish(shaper, [shaper.row(r) for r in raw], raw))
        return out

    with_rollups, from_facts = client.portal.call(both)
    assert with_rollups.rows, "the query returns nothing: it would compare nothing"
    assert with_rollups.columns == from_facts.columns
    assert len(with_rollups.rows) == len(from_facts.rows) == with_rollups.total_rows
    for a, b in zip(with_rollups.rows, from_facts.rows, strict=True):
        assert a.keys() == b.keys()
        for name, value in a.items():
            if isinstance(value, float):
                assert value == h.lbs(b[name]), name
            else:
                assert value == b[name], name
    assert [r.id for r in with_rollups.releases] == [r.id for r in from_facts.releases]
