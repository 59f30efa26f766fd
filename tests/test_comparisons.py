"""Comparisons: shares, seizures vs encounters, ports vs between and change, each checked against
figures computed here from the official CSV files; CSV output, 422s and the empty database."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_helpers import api_client
from fastapi.testclient import TestClient
from official_csv import (
    OCT_2021_TO_APR_2022,
    cbp_month,
    current_rows,
    fiscal_year_months,
    ohss_sector_encounters,
    seizure_lbs,
    state_encounters,
    us_overdose_deaths,
)

from app.api import examples as comparison_examples
from app.render.comparisons import GROUP_COLUMNS, SHARE_COLUMNS

SW, OFO, USBP = "Southwest Border", "Office of Field Operations", "U.S. Border Patrol"
FY2021 = fiscal_year_months(2021)
CAAZ_PORTS = "/comparisons/seizure-share?drug=fentanyl&fiscal_year=2021" \
             "&part_area=san-diego-field-office,tucson-field-office&base=southwest-ofo"
KINDS = ["/comparisons/seizure-share", "/comparisons/encounter-share",
         "/comparisons/seizures-vs-encounters", "/comparisons/ports-vs-between",
         "/comparisons/change"]


@pytest.fixture(scope="module")
def client(loaded_url: str) -> Iterator[TestClient]:
    with api_client(loaded_url) as test_client:
        yield test_client


def get_ok(client: TestClient, url: str) -> dict[str, Any]:
    response = client.get(url)
    assert response.status_code == 200, response.text
    return response.json()


# --- seizure-share ------------------------------------------------------------------------------

def test_seizure_share_of_caaz_ports_matches_the_source_file(client: TestClient,
                                                             data_dir: Path) -> None:
    body = get_ok(client, CAAZ_PORTS)
    san_diego = seizure_lbs(data_dir, months=FY2021, areas=["SAN DIEGO FIELD OFFICE"])
    tucson = seizure_lbs(data_dir, months=FY2021, areas=["TUCSON FIELD OFFICE"])
    base = seizure_lbs(data_dir, months=FY2021, region=SW, component=OFO)
    total, *members = body["data"]
    assert total["member"] == "total"
    assert total["numerator"] == pytest.approx(san_diego + tucson, abs=1e-5)
    assert total["denominator"] == pytest.approx(base, abs=1e-5)
    assert total["share"] == pytest.approx((san_diego + tucson) / base, rel=1e-9)
    assert [(m["member"], m["name"]) for m in members] == [
        ("san-diego-field-office", "San Diego Field Office"),
        ("tucson-field-office", "Tucson Field Office")]
    assert members[0]["numerator"] == pytest.approx(san_diego, abs=1e-5)
    assert members[1]["numerator"] == pytest.approx(tucson, abs=1e-5)
    # sum over sum: member shares add up to the part's share (no mean of ratios)
    assert sum(m["share"] for m in members) == pytest.approx(total["share"], rel=1e-9)
    meta = body["meta"]
    assert meta["share"] == total["share"]
    assert meta["filters"]["base"] == {"region": "southwest", "component": "ofo"}
    assert meta["numerator"]["releases"] and meta["denominator"]["releases"]
    assert [r["file_name"] for r in meta["releases"]] == ["cbp-drug-seizures-fy20-fy23.csv"]


def test_seizure_share_members_reproduce_from_their_requests(client: TestClient) -> None:
    for member in get_ok(client, CAAZ_PORTS)["data"]:
        row = get_ok(client, member["request"])["data"][0]
        assert row["quantity_lbs"] == member["numerator"]


def test_seizure_share_by_state_breaks_down_by_area(client: TestClient, data_dir: Path) -> None:
    body = get_ok(client, "/comparisons/seizure-share?drug=fentanyl&fiscal_year=2021"
                          "&part_state=NM,TX&base=southwest")
    areas = ["EL PASO FIELD OFFICE", "LAREDO FIELD OFFICE", "EL PASO SECTOR", "BIG BEND SECTOR",
             "DEL RIO SECTOR", "LAREDO SECTOR", "RIO GRANDE VALLEY SECTOR"]
    expected = seizure_lbs(data_dir, months=FY2021, region=SW, areas=areas)
    assert body["data"][0]["numerator"] == pytest.approx(expected, abs=1e-5)
    assert {m["member"] for m in body["data"][1:]} <= {a.lower().replace(" ", "-") for a in areas}
    assert sum(m["numerator"] for m in body["data"][1:]) == pytest.approx(expected, abs=1e-4)


def test_event_counts_can_be_shared(client: TestClient, data_dir: Path) -> None:
    body = get_ok(client, CAAZ_PORTS + "&measure=event_count")
    expected = seizure_lbs(data_dir, months=FY2021, areas=["SAN DIEGO FIELD OFFICE",
                           "TUCSON FIELD OFFICE"], measure="Count of Event")
    assert body["data"][0]["numerator"] == int(expected)


def _published_zero_cell(data_dir: Path) -> tuple[str, str, str]:
    """(drug, month, area) of a group of current seizure rows that exist and add up to 0 lbs."""
    sums: dict[tuple[str, str, str], float] = {}
    for month, row in current_rows(data_dir, "cbp-drug-seizures-*.csv", cbp_month("FY")):
        if row["Component"] == USBP:
            key = (row["Drug Type"], f"{month:%Y-%m}", row["Area of Responsibility"])
            sums[key] = sums.get(key, 0.0) + float(row["Sum Qty (lbs)"])
    return min(key for key, lbs in sums.items() if lbs == 0)


def test_published_zero_base_gives_a_null_share_with_an_explanation(client: TestClient,
                                                                    data_dir: Path) -> None:
    drug, month, area = _published_zero_cell(data_dir)
    body = get_ok(client, f"/comparisons/seizure-share?drug={drug}&month={month}"
                          f"&base_area={area}&part_component=usbp")
    assert body["data"][0]["numerator"] == 0 and body["data"][0]["denominator"] == 0
    assert body["data"][0]["share"] is None and body["meta"]["share"] is None
    assert "zero" in body["meta"]["share_note"]


def test_a_base_without_published_rows_is_null_not_zero(client: TestClient,
                                                        data_dir: Path) -> None:
    rows = [row for month, row in current_rows(data_dir, "cbp-drug-seizures-*.csv", cbp_month("FY"))
            if month in FY2021 and row["Drug Type"] == "Khat (Catha Edulis)"
            and row["Region"] == SW and row["Component"] == USBP]
    assert rows == []
    body = get_ok(client, "/comparisons/seizure-share?drug=khat&fiscal_year=2021"
                          "&part_area=tucson-sector&base=southwest-usbp")
    assert body["data"][0]["numerator"] is None and body["data"][0]["denominator"] is None
    assert body["data"][0]["share"] is None and body["meta"]["share"] is None
    assert "no data" in body["meta"]["share_note"]


def test_period_without_data_gives_null_shares(client: TestClient) -> None:
    body = get_ok(client, "/comparisons/seizure-share?drug=fentanyl&fiscal_year=2031"
                          "&part_area=san-diego-field-office&base=southwest")
    assert body["data"] == [{**body["data"][0], "numerator": None, "denominator": None,
                             "share": None}]
    assert body["meta"]["share_note"]


# --- encounter-share ----------------------------------------------------------------------------

def test_encounter_share_by_state_from_one_source(client: TestClient, data_dir: Path) -> None:
    body = get_ok(client, "/comparisons/encounter-share?region=southwest&fiscal_year=2021"
                          "&part_state=CA,AZ")
    part = state_encounters(data_dir, months=FY2021, states=["CA", "AZ"])
    base = state_encounters(data_dir, months=FY2021)
    total, ca, az = body["data"]
    assert (total["numerator"], total["denominator"]) == (part, base)
    assert total["share"] == pytest.approx(part / base, rel=1e-9)
    assert (ca["member"], ca["name"], ca["numerator"]) == (
        "CA", "California", state_encounters(data_dir, months=FY2021, states=["CA"]))
    assert az["numerator"] == state_encounters(data_dir, months=FY2021, states=["AZ"])
    meta = body["meta"]
    assert meta["numerator"]["source"] == meta["denominator"]["source"] == "cbp-state-encounters"
    assert meta["sources"] == ["cbp-state-encounters"]


def test_encounter_share_of_sectors_uses_the_sector_series_for_both(client: TestClient,
                                                                    data_dir: Path) -> None:
    body = get_ok(client, "/comparisons/encounter-share?from=2021-10&to=2022-04"
                          "&part_sector=el-paso,rio-grande-valley,del-rio,laredo"
                          "&base=southwest-usbp")
    sectors = ["El Paso, TX", "Rio Grande Valley, TX", "Del Rio, TX", "Laredo, TX"]
    part = ohss_sector_encounters(data_dir, months=OCT_2021_TO_APR_2022, sectors=sectors)
    base = ohss_sector_encounters(data_dir, months=OCT_2021_TO_APR_2022)
    assert (body["data"][0]["numerator"], body["data"][0]["denominator"]) == (part, base)
    assert len(body["data"]) == 5
    assert body["meta"]["sources"] == ["ohss-sector-encounters"]
    assert "rounds each monthly figure" in " ".join(body["meta"]["caveats"])


def test_part_and_base_that_no_single_source_answers_are_refused(client: TestClient) -> None:
    response = client.get("/comparisons/encounter-share?fiscal_year=2022&part_sector=el-paso"
                          "&base=southwest")
    assert response.status_code == 422
    assert "one release family" in response.json()["error"]["message"]


# --- seizures vs encounters ---------------------------------------------------------------------

@pytest.mark.parametrize("groups", ["CA,AZ;NM,TX", "CA,AZ%3BNM,TX"])
def test_seizures_vs_encounters_by_group_of_states(client: TestClient, data_dir: Path,
                                                   groups: str) -> None:
    body = get_ok(client, "/comparisons/seizures-vs-encounters?drug=fentanyl&fiscal_year=2021"
                          f"&groups={groups}")
    seized_sw = seizure_lbs(data_dir, months=FY2021, region=SW)
    encountered_sw = state_encounters(data_dir, months=FY2021)
    group_areas = {
        "CA,AZ": ["SAN DIEGO FIELD OFFICE", "TUCSON FIELD OFFICE", "SAN DIEGO SECTOR",
                  "EL CENTRO SECTOR", "YUMA SECTOR", "TUCSON SECTOR"],
        "NM,TX": ["EL PASO FIELD OFFICE", "LAREDO FIELD OFFICE", "EL PASO SECTOR",
                  "BIG BEND SECTOR", "DEL RIO SECTOR", "LAREDO SECTOR", "RIO GRANDE VALLEY SECTOR"],
    }
    assert [row["group"] for row in body["data"]] == ["CA,AZ", "NM,TX"]
    for row in body["data"]:
        seized = seizure_lbs(data_dir, months=FY2021, region=SW, areas=group_areas[row["group"]])
        encountered = state_encounters(data_dir, months=FY2021, states=row["group"].split(","))
        assert row["seizures"] == pytest.approx(seized, abs=1e-5)
        assert row["seizures_southwest"] == pytest.approx(seized_sw, abs=1e-5)
        assert (row["encounters"], row["encounters_southwest"]) == (encountered, encountered_sw)
        seizure_share, encounter_share = seized / seized_sw, encountered / encountered_sw
        assert row["seizure_share"] == pytest.approx(seizure_share, rel=1e-9)
        assert row["encounter_share"] == pytest.approx(encounter_share, rel=1e-12)
        assert row["ratio"] == pytest.approx(seizure_share / encounter_share, rel=1e-9)
    assert body["meta"]["groups"][0]["seizures"]["areas"]


def test_overlapping_groups_name_the_area_counted_twice(client: TestClient) -> None:
    body = get_ok(client, "/comparisons/seizures-vs-encounters?drug=fentanyl&fiscal_year=2021"
                          "&groups=CA;AZ")
    assert any(c.startswith("Yuma Sector covers states of several groups")
               for c in body["meta"]["caveats"])


def test_seizures_vs_encounters_as_csv(client: TestClient) -> None:
    response = client.get("/comparisons/seizures-vs-encounters?drug=fentanyl&fiscal_year=2021"
                          "&groups=CA,AZ;NM,TX&format=csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert response.text.splitlines()[0] == ",".join(GROUP_COLUMNS)
    as_json = get_ok(client, "/comparisons/seizures-vs-encounters?drug=fentanyl"
                             "&fiscal_year=2021&groups=CA,AZ;NM,TX")["data"]
    for row, expected in zip(rows, as_json, strict=True):
        assert row["group"] == expected["group"]
        assert float(row["ratio"]) == expected["ratio"]
        assert int(row["encounters"]) == expected["encounters"]


# --- ports vs between, change -------------------------------------------------------------------

def test_ports_vs_between_split(client: TestClient, data_dir: Path) -> None:
    body = get_ok(client, "/comparisons/ports-vs-between?drug=fentanyl&region=southwest"
                          "&fiscal_year=2021")
    ports = seizure_lbs(data_dir, months=FY2021, region=SW, component=OFO)
    between = seizure_lbs(data_dir, months=FY2021, region=SW, component=USBP)
    ofo, usbp = body["data"]
    assert (ofo["component"], usbp["component"]) == ("OFO", "USBP")
    assert ofo["numerator"] == pytest.approx(ports, abs=1e-5)
    assert usbp["numerator"] == pytest.approx(between, abs=1e-5)
    assert ofo["denominator"] == pytest.approx(ports + between, abs=1e-5)
    assert ofo["share"] + usbp["share"] == pytest.approx(1, rel=1e-9)


def test_change_in_overdose_deaths(client: TestClient, data_dir: Path) -> None:
    row = get_ok(client, "/comparisons/change?dataset=overdose_deaths&before=2020&after=2021")[
        "data"][0]
    before, after = us_overdose_deaths(data_dir, 2020), us_overdose_deaths(data_dir, 2021)
    assert (row["before_value"], row["after_value"]) == (before, after)
    assert row["absolute_change"] == after - before
    assert row["percent_change"] == pytest.approx((after - before) / before * 100, rel=1e-9)
    assert row["after_request"] == "/overdose-deaths?year=2021"


def test_change_in_fentanyl_pounds_fy2021_to_fy2022(client: TestClient, data_dir: Path) -> None:
    body = get_ok(client, "/comparisons/change?dataset=seizures&drug=fentanyl&before=FY2021"
                          "&after=FY2022")
    before = seizure_lbs(data_dir, months=FY2021)
    after = seizure_lbs(data_dir, months=fiscal_year_months(2022))
    row = body["data"][0]
    assert row["before_value"] == pytest.approx(before, abs=1e-5)
    assert row["after_value"] == pytest.approx(after, abs=1e-5)
    assert row["percent_change"] == pytest.approx((after - before) / before * 100, rel=1e-8)
    assert body["meta"]["before"]["filters"]["fiscal_year"] == [2021]


def test_change_over_months_keeps_one_encounter_source(client: TestClient) -> None:
    meta = get_ok(client, "/comparisons/change?dataset=encounters&region=southwest"
                          "&component=usbp&before=FY2010&after=FY2022")["meta"]
    assert meta["before"]["source"] == meta["after"]["source"] == "ohss-sector-encounters"


# --- CSV, listing, errors -----------------------------------------------------------------------

def test_share_as_csv(client: TestClient) -> None:
    response = client.get(CAAZ_PORTS + "&format=csv")
    assert response.status_code == 200
    lines = response.text.split("\r\n")
    assert lines[0] == ",".join(SHARE_COLUMNS)
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["member"] for r in rows] == ["total", "san-diego-field-office", "tucson-field-office"]
    as_json = get_ok(client, CAAZ_PORTS)["data"]
    assert [float(r["share"]) for r in rows] == [r["share"] for r in as_json]
    assert 'filename="comparisons_seizure-share' in response.headers["content-disposition"]


def test_comparisons_lists_every_kind_with_its_parameters(client: TestClient) -> None:
    kinds = {k["path"]: k for k in get_ok(client, "/comparisons")["data"]}
    assert list(kinds) == KINDS
    share = {p["name"]: p for p in kinds["/comparisons/seizure-share"]["parameters"]}
    assert share["base"]["accepted"] == ["nationwide", "southwest", "southwest-ofo",
                                         "southwest-usbp", "ofo", "usbp"]
    assert {"part_area", "part_state", "part_component", "base_region", "from"} <= set(share)
    assert kinds["/comparisons/seizures-vs-encounters"]["parameters"][0]["required"] is True


@pytest.mark.parametrize(("url", "parameter"), [
    ("/comparisons/seizure-share?drug=fentanyl&fiscal_year=2021&base=southwest", "part"),
    ("/comparisons/seizure-share?drug=fentanyl&part_area=nowhere", "part_area"),
    ("/comparisons/seizure-share?drug=fentanil&part_area=tucson-sector", "drug"),
    ("/comparisons/seizure-share?part_area=tucson-sector&base=mexico", "base"),
    ("/comparisons/seizure-share?part_area=tucson-sector&colour=red", "colour"),
    ("/comparisons/seizure-share?part_fiscal_year=2021&part_area=tucson-sector", "part_fiscal_year"),
    ("/comparisons/seizure-share?part_component=usbp&base=southwest-ofo", "part_component"),
    ("/comparisons/seizure-share?part_area=tucson-sector&base=southwest&base_region=northern",
     "base_region"),
    ("/comparisons/encounter-share?fiscal_year=2021&part_state=CX", "part_state"),
    ("/comparisons/seizures-vs-encounters?groups=CA,AZ;NM,TX", "fiscal_year"),
    ("/comparisons/seizures-vs-encounters?groups=CA,AZ;;TX&fiscal_year=2021", "groups"),
    ("/comparisons/seizures-vs-encounters?groups=CA,XX&fiscal_year=2021", "groups"),
    ("/comparisons/seizures-vs-encounters?fiscal_year=2021", "groups"),
    ("/comparisons/ports-vs-between?drug=fentanyl&component=ofo", "component"),
    ("/comparisons/change?dataset=overdose_deaths&before=FY2020&after=2021", "before"),
    ("/comparisons/change?dataset=seizures&before=FY2020&after=later", "after"),
    ("/comparisons/change?dataset=seizures&before=2021-13&after=2022", "before"),
    ("/comparisons/change?dataset=seizures&before=2021&after=2022-04..2021-10", "after"),
    ("/comparisons/change?dataset=seizures&measure=deaths&before=2020&after=2021", "measure"),
    ("/comparisons/change?dataset=overdose_deaths&drug=fentanyl&before=2020&after=2021", "drug"),
])
def test_invalid_comparison_is_422_naming_the_parameter(client: TestClient, url: str,
                                                        parameter: str) -> None:
    response = client.get(url)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["parameter"] == parameter


def test_comparisons_have_etags(client: TestClient) -> None:
    first = client.get(CAAZ_PORTS)
    again = client.get(CAAZ_PORTS, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


def test_recorded_openapi_examples_match_the_live_answers(client: TestClient) -> None:
    recorded = comparison_examples._recorded()
    assert set(recorded) == set(comparison_examples.EXAMPLE_REQUESTS)
    for path, entry in recorded.items():
        if path == "/claims/verify":
            live = client.post(entry["request"], json=entry["body"]).json()
        else:
            live = client.get(entry["request"]).json()
        assert _figures(live) == _figures(entry["json"]), path


def _figures(document: Any) -> Any:
    """A document without what differs between loads (load times, data version) or backends
    (the last bits of a float sum depend on the order Postgres or SQLite adds the rows)."""
    if isinstance(document, dict):
        return {k: _figures(v) for k, v in document.items()
                if k not in {"loaded_at", "data_version"}}
    if isinstance(document, list):
        return [_figures(v) for v in document]
    if isinstance(document, float):
        return float(f"{document:.9g}")
    return document


# --- empty database -----------------------------------------------------------------------------

def test_empty_database_gives_null_shares_not_errors(database_url: str) -> None:
    with api_client(database_url) as empty:
        for url in [CAAZ_PORTS,
                    "/comparisons/encounter-share?fiscal_year=2021&part_state=CA",
                    "/comparisons/seizures-vs-encounters?groups=CA,AZ;NM,TX&fiscal_year=2021",
                    "/comparisons/ports-vs-between?drug=fentanyl",
                    "/comparisons/change?dataset=encounters&before=FY2021&after=FY2022"]:
            response = empty.get(url)
            assert response.status_code == 200, (url, response.text)
            for row in response.json()["data"]:
                shares = [v for k, v in row.items() if "share" in k and "request" not in k]
                values = [v for k, v in row.items() if k in {"ratio", "percent_change"}]
                assert all(v is None for v in shares + values), url
        assert empty.get(CAAZ_PORTS + "&format=csv").status_code == 200
        assert empty.get("/comparisons/seizure-share?colour=red&part_area=x").status_code == 422
