"""Edges an independent review found: each test pins the behaviour that fixed it."""

from __future__ import annotations

import csv
import io

import api_helpers as h
import pytest

from app.api.http_cache import CachedBody, ResponseCache
from app.db import database_urls
from app.ops.logs import redact


@pytest.fixture(scope="module")
def client(loaded_url: str):
    with h.api_client(loaded_url) as test_client:
        yield test_client


def test_grouping_seizures_by_area_and_state_joins_areas_once(client):
    rows = h.rows_of(client, "/seizures", {"drug": "fentanyl", "fiscal_year": "2021",
                                            "region": "southwest", "group_by": "area,state"})
    by_area = {r["area"]: r["state"] for r in rows}
    assert by_area["el-paso-field-office"] == "NM,TX"
    assert by_area["yuma-sector"] == "AZ,CA"
    assert by_area["san-diego-field-office"] == "CA"


@pytest.mark.parametrize(("params", "parameter"), [
    ({"state": "US,CA", "year": "2021"}, "state"),
    ({"category": "total,heroin", "year": "2021"}, "category"),
])
def test_overlapping_death_cells_are_not_added_up(client, params, parameter):
    response = client.get("/overdose-deaths", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["parameter"] == parameter


def test_overlapping_death_cells_side_by_side_are_fine(client):
    rows = h.rows_of(client, "/overdose-deaths", {"state": "US,CA", "year": "2021",
                                                  "group_by": "state"})
    assert {r["state"]: r["deaths"] for r in rows} == {
        "US": h.us_deaths()[2021], "CA": h.state_deaths()[("CA", 2021)][0]}


@pytest.mark.parametrize("params", [
    {"state": "CA", "year": "2022"},        # states are published through 2021 only
    {"state": "DC", "year": "2021"},        # the state table has no DC
    {"category": "heroin", "year": "2022"},  # categories end in 2021
])
def test_an_unpublished_death_figure_is_null_and_incomplete(client, params):
    body = h.get_json(client, "/overdose-deaths", params)
    assert body["data"] == [{"deaths": None, "rate": None}]
    assert body["meta"]["complete"] is False
    assert body["meta"]["releases"] == []
    assert any("No published figure" in c for c in body["meta"]["caveats"])


def test_a_published_death_year_range_is_complete(client):
    body = h.get_json(client, "/overdose-deaths", {"from": "2019", "to": "2023", "group_by": "year"})
    assert body["meta"]["complete"] is True
    partial = h.get_json(client, "/overdose-deaths", {"state": "AZ", "from": "2019", "to": "2022",
                                                      "group_by": "year"})
    assert partial["meta"]["complete"] is False  # 2022 has no state table


def test_a_share_whose_part_lies_outside_its_base_is_refused(client):
    response = client.get("/comparisons/seizure-share", params={
        "drug": "fentanyl", "fiscal_year": "2021", "part_area": "yuma-sector",
        "base": "southwest-ofo"})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["parameter"] == "part_area" and "yuma-sector" in error["message"]


@pytest.mark.parametrize("comparator", [
    {"op": ">", "value": 1e30},
    {"op": ">", "value": 1e7, "precision": 1e-25},
])
def test_claim_verify_refuses_out_of_range_numbers(client, comparator):
    body = {"comparator": comparator, "definitions": [{
        "id": "a", "kind": "value", "dataset": "seizures", "measure": "quantity_lbs",
        "filters": {"fiscal_year": "2021"}}]}
    response = client.post("/claims/verify", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["parameter"].startswith("comparator.")


@pytest.mark.parametrize("path", ["/datasets", "/comparisons"])
def test_csv_on_a_json_only_endpoint_is_a_422(client, path):
    response = client.get(path, params={"format": "csv"})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["parameter"] == "format"


def test_unknown_parameter_on_claims_names_it_and_lists_the_known_ones(client):
    error = client.get("/claims", params={"x": "1"}).json()["error"]
    assert error["parameter"] == "x"
    assert error["message"].startswith("unknown parameter 'x'")


@pytest.mark.parametrize("params", [
    {"fiscal_year": "2021", "month": "2021-10"},       # October 2021 is FY2022
    {"calendar_year": "2020", "from": "2021-01"},
])
def test_periods_with_no_month_in_common_are_a_422(client, params):
    response = client.get("/seizures", params=params)
    assert response.status_code == 422, response.text
    assert "no month in common" in response.json()["error"]["message"]


def test_a_csv_download_streams_every_row_past_one_page(client):
    params = {"group_by": "area,drug,month"}
    total = h.get_json(client, "/seizures", {**params, "limit": "1"})["meta"]["total_rows"]
    assert total > 10_000  # more than one page of the maximum size
    response = client.get("/seizures", params={**params, "format": "csv"})
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == total == int(response.headers["x-total-count"])
    assert "link" not in response.headers
    keys = [(r["area"], r["drug"], r["month"]) for r in rows]
    assert len(set(keys)) == total  # every group exactly once


def test_the_response_cache_is_bounded_by_bytes():
    cache = ResponseCache(max_entries=100, max_bytes=1000, max_body=600)
    for i in range(10):
        cache.put(str(i), CachedBody(b"x" * 300, "application/json"))
    assert cache.size <= 1000
    assert cache.get("9") is not None and cache.get("0") is None
    cache.put("big", CachedBody(b"x" * 700, "application/json"))
    assert cache.get("big") is None  # larger than one body may be


def test_a_password_in_the_url_query_is_masked():
    url = "postgresql://reader@db.example.org/stats?password=s3cret&sslmode=require"
    assert "s3cret" not in database_urls(url).safe()
    assert redact(f"connecting to {url}") == (
        "connecting to postgresql://reader@db.example.org/stats?password=***&sslmode=require")
