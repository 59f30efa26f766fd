"""CSV output of the data and reference endpoints: golden strings built from the official files."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import api_helpers as h
import pytest

LBS_TO_KG = 0.45359237


@pytest.fixture(scope="module")
def client(loaded_url: str):
    with h.api_client(loaded_url) as test_client:
        yield test_client


def quote(value: str) -> str:
    """RFC 4180 minimal quoting, written out by hand for the golden strings."""
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_text(*lines: list[str]) -> str:
    return "".join(",".join(quote(str(v)) for v in line) + "\r\n" for line in lines)


def number(value: float) -> str:
    """How a non-integral figure is written: the shortest repr of it to 10 significant digits."""
    return repr(float(f"{value:.10g}"))


def test_golden_csv_of_a_monthly_seizure_query(client):
    params = {"drug": "fentanyl", "area": "san-diego-field-office", "land_filter": "land-only",
              "from": "2021-07", "to": "2021-10", "group_by": "month", "format": "csv"}
    response = client.get("/seizures", params=params)
    assert response.status_code == 200
    lines = [["month", "quantity_lbs", "quantity_kg", "event_count", "period_complete"]]
    for month in h.months_between(dt.date(2021, 7, 1), dt.date(2021, 10, 1)):
        [row] = [r for r in h.seizures()[0] if r["drug"] == "fentanyl" and r["month"] == month
                 and r["area"] == "san-diego-field-office" and r["land_filter"] == "Land Only"]
        pounds = row["quantity_lbs"]  # one file row per month: no summation order to worry about
        lines.append([f"{month:%Y-%m}", number(pounds), number(pounds * LBS_TO_KG),
                      row["event_count"], "true"])
    assert response.text == csv_text(*lines)
    assert response.headers["content-type"] == "text/csv; charset=utf-8"


def test_golden_csv_quotes_a_citizenship_containing_a_comma(client):
    response = client.get("/encounters", params={"state": "TX", "fiscal_year": "2022",
                                                  "group_by": "citizenship", "format": "csv"})
    rows = [r for r in h.state_encounters()[0]
            if r["state"] == "TX" and h.fiscal_year_of(r["month"]) == 2022]
    sums = h.aggregate(rows, [h.field("citizenship")], ["encounter_count"])
    expected = csv_text(["citizenship", "encounter_count"],
                        *([c, s["encounter_count"]] for (c,), s in sorted(sums.items())))
    assert '"CHINA, PEOPLES REPUBLIC OF",' in expected
    assert response.text == expected


def test_golden_csv_of_drugs_joins_aliases_with_semicolons(client):
    drugs = json.loads((h.SEED_DIR / "drugs.json").read_text())["drugs"]
    expected = csv_text(["slug", "name", "source_name", "aliases"],
                        *([d["slug"], d["name"], d["source_name"], ";".join(d["aliases"])]
                          for d in sorted(drugs, key=lambda d: d["slug"])))
    assert client.get("/drugs", params={"format": "csv"}).text == expected


def test_accept_text_csv_gives_the_same_file_as_format_csv(client):
    params = {"drug": "heroin", "group_by": "region,fiscal_year"}
    by_param = client.get("/seizures", params={**params, "format": "csv"})
    by_header = client.get("/seizures", params=params, headers={"Accept": "text/csv"})
    assert by_header.headers["content-type"].startswith("text/csv")
    assert by_header.text == by_param.text
    as_json = client.get("/seizures", params=params, headers={"Accept": "application/json"})
    assert as_json.headers["content-type"] == "application/json"
    forced = client.get("/seizures", params={**params, "format": "json"}, headers={"Accept": "text/csv"})
    assert forced.headers["content-type"] == "application/json"


def test_csv_has_a_header_row_and_crlf_line_ends(client):
    response = client.get("/encounters", params={"region": "southwest", "group_by": "demographic,fiscal_year",
                                                  "format": "csv"})
    body = response.content.decode("utf-8")
    assert body.startswith("demographic,fiscal_year,encounter_count,period_complete\r\n")
    assert body.endswith("\r\n")
    assert "\n" not in body.replace("\r\n", "")


def test_csv_of_an_empty_result_is_its_header_row(client):
    response = client.get("/seizures", params={"group_by": "area", "fiscal_year": "2030",
                                                "format": "csv"})
    assert response.text == "area,area_name,quantity_lbs,quantity_kg,event_count\r\n"


@pytest.mark.parametrize(("path", "params", "name"), [
    ("/seizures", {"drug": "fentanyl", "fiscal_year": "2021"}, "seizures_drug-fentanyl_fiscal_year-2021.csv"),
    ("/encounters", {"sector": "El Paso", "group_by": "month", "limit": "5", "sort": "month"},
     "encounters_sector-El-Paso_group_by-month.csv"),
    ("/overdose-deaths", {"state": "AZ,TX", "year": "2021"}, "overdose-deaths_state-AZ-TX_year-2021.csv"),
    ("/drugs", {}, "drugs.csv"),
])
def test_content_disposition_names_the_file_after_the_query(client, path, params, name):
    response = client.get(path, params={**params, "format": "csv", "bom": "false"})
    assert response.status_code == 200
    assert response.headers["content-disposition"] == f'attachment; filename="{name}"'


def test_content_disposition_file_name_is_safe_for_any_query(client):
    response = client.get("/seizures", params={"area": "San Diego Field Office, tucson-sector",
                                                "drug": "Khat (Catha Edulis)", "format": "csv"})
    assert response.status_code == 200
    value = response.headers["content-disposition"]
    assert re.fullmatch(r'attachment; filename="[A-Za-z0-9_.-]+\.csv"', value), value
    assert value.startswith('attachment; filename="seizures_area-San-Diego-Field-Office-tucson-sector_')


def test_bom_true_starts_with_the_utf8_byte_order_mark(client):
    params = {"group_by": "drug", "fiscal_year": "2024", "format": "csv"}
    plain = client.get("/seizures", params=params).content
    with_bom = client.get("/seizures", params={**params, "bom": "true"}).content
    assert with_bom.startswith(b"\xef\xbb\xbf") and not plain.startswith(b"\xef\xbb\xbf")
    assert with_bom[3:] == plain


@pytest.mark.parametrize("path", ["/seizures", "/drugs", "/comparisons/ports-vs-between"])
def test_bom_follows_every_spelling_the_parameter_accepts(client, path):
    """`bom` is a boolean: each spelling pydantic reads as true writes the mark, each it reads as
    false does not (`bom=t` was accepted and then ignored)."""
    params = {"format": "csv", **({"drug": "fentanyl"} if path != "/drugs" else {})}
    plain = client.get(path, params=params).content
    assert not plain.startswith(b"\xef\xbb\xbf")
    for spelling in ["1", "on", "t", "true", "y", "yes", "TRUE", "Yes", "On"]:
        response = client.get(path, params={**params, "bom": spelling})
        assert response.status_code == 200 and response.content == b"\xef\xbb\xbf" + plain, spelling
    for spelling in ["0", "off", "f", "false", "n", "no", "FALSE", "No"]:
        response = client.get(path, params={**params, "bom": spelling})
        assert response.status_code == 200 and response.content == plain, spelling
    assert client.get(path, params={**params, "bom": "maybe"}).status_code == 422


def typed(value: str, json_value):
    """Read a CSV cell back with the type of the JSON value it should equal."""
    if json_value is None:
        return None if value == "" else value
    if isinstance(json_value, bool):
        return {"true": True, "false": False}[value]
    if isinstance(json_value, int):
        return int(value)
    if isinstance(json_value, float):
        return float(value)
    return value


@pytest.mark.parametrize(("path", "params"), [
    ("/seizures", {"group_by": "area,drug,fiscal_year", "region": "southwest"}),
    ("/encounters", {"group_by": "state,citizenship,calendar_year"}),
    ("/encounters", {"group_by": "sector,fiscal_quarter", "region": "northern"}),
    ("/overdose-deaths", {"group_by": "state,year"}),
    ("/overdose-deaths", {"group_by": "category,sex", "year": "2020"}),
])
def test_csv_parses_back_to_the_json_rows(client, path, params):
    params = {**params, "limit": "10000"}
    rows = h.get_json(client, path, params)["data"]
    text = client.get(path, params={**params, "format": "csv"}).text
    parsed = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) > 20
    assert parsed[0] == list(rows[0])
    assert len(parsed) == len(rows) + 1
    for row, cells in zip(rows, parsed[1:], strict=True):
        assert {k: typed(c, row[k]) for k, c in zip(parsed[0], cells, strict=True)} == row


def test_csv_export_without_a_limit_holds_every_row(client):
    params = {"group_by": "area,month", "fiscal_year": "2022"}
    total = h.get_json(client, "/seizures", params)["meta"]["total_rows"]
    response = client.get("/seizures", params={**params, "format": "csv"})
    lines = response.text.count("\r\n") - 1
    assert total > 100
    assert lines == total and int(response.headers["x-total-count"]) == total
    assert "link" not in response.headers
