"""Every 422 of the data and reference endpoints, and odd inputs that must never give a 500."""

from __future__ import annotations

import itertools
import re

import api_helpers as h
import pytest

DATA_PATHS = ("/seizures", "/encounters", "/overdose-deaths")
REFERENCE_PATHS = ("/drugs", "/areas", "/releases", "/datasets", "/seizure-events")


@pytest.fixture(scope="module")
def client(loaded_url: str):
    with h.api_client(loaded_url, raise_server_exceptions=False) as test_client:
        yield test_client


def error_of(client, path: str, params) -> dict:
    response = client.get(path, params=params)
    assert response.status_code == 422, (path, params, response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("application/json")
    return response.json()["error"]


def mentions(error: dict, *words: str) -> bool:
    """The accepted values are named in `accepted` or in the message."""
    text = " ".join([error["message"], *map(str, error.get("accepted") or [])])
    return all(w in text for w in words)


# (path, params, parameter, bad value, something the accepted values must name)
INVALID = [
    ("/seizures", {"drug": "unobtainium"}, "drug", "unobtainium", ["fentanyl", "methamphetamine"]),
    ("/seizures", {"drug": "fentanyl,bogus"}, "drug", "bogus", ["fentanyl"]),
    ("/seizures", {"area": "atlantis"}, "area", "atlantis", ["san-diego-field-office", "yuma-sector"]),
    ("/seizures", {"port": "atlantis"}, "port", "atlantis", ["laredo-field-office"]),
    ("/encounters", {"sector": "atlantis"}, "sector", "atlantis", ["rio-grande-valley-sector"]),
    ("/seizures", {"state": "ZZ"}, "state", "ZZ", ["TX", "CA"]),
    ("/encounters", {"state": "Atlantis"}, "state", "Atlantis", ["TX"]),
    ("/overdose-deaths", {"state": "ZZ"}, "state", "ZZ", ["US", "AZ"]),
    ("/seizures", {"component": "navy"}, "component", "navy", ["ofo", "usbp"]),
    ("/encounters", {"region": "eastern"}, "region", "eastern", ["southwest", "northern"]),
    ("/seizures", {"land_filter": "sea"}, "land_filter", "sea", ["land-only", "other"]),
    ("/encounters", {"demographic": "toddlers"}, "demographic", "toddlers", ["single-adults"]),
    ("/encounters", {"citizenship": "narnia"}, "citizenship", "narnia", ["mexico"]),
    ("/encounters", {"title_of_authority": "title-99"}, "title_of_authority", "title-99", ["title-8"]),
    ("/encounters", {"encounter_type": "hugs"}, "encounter_type", "hugs", ["apprehensions"]),
    ("/overdose-deaths", {"category": "caffeine"}, "category", "caffeine", ["synthetic-opioids"]),
    ("/overdose-deaths", {"sex": "other"}, "sex", "other", ["female", "male"]),
    ("/seizures", {"group_by": "weekly"}, "group_by", "weekly", ["month", "fiscal_year", "area"]),
    ("/encounters", {"group_by": "month,fiscal_year"}, "group_by", "fiscal_year", ["month"]),
    ("/overdose-deaths", {"group_by": "month"}, "group_by", "month", ["year", "state"]),
    ("/seizures", {"group_by": "area", "sort": "colour"}, "sort", "colour", ["area", "quantity_lbs"]),
    ("/overdose-deaths", {"sort": "-drug"}, "sort", "-drug", ["deaths"]),
    ("/seizures", {"colour": "red"}, "colour", "red", ["drug", "group_by", "limit"]),
    ("/encounters", {"drug": "fentanyl"}, "drug", "fentanyl", ["citizenship", "sector"]),
    ("/overdose-deaths", {"fiscal_year": "2021"}, "fiscal_year", "2021", ["year", "category"]),
    ("/seizures", {"from": "2022-01", "to": "2021-01"}, "from", "2022-01", ["2021-01"]),
    ("/encounters", {"from": "2022-01", "to": "2021-12"}, "from", "2022-01", ["2021-12"]),
    ("/overdose-deaths", {"from": "2021", "to": "2019"}, "from", "2021", ["2019"]),
    ("/seizures", {"from": "2021-13"}, "from", "2021-13", ["YYYY-MM"]),
    ("/seizures", {"to": "21-01"}, "to", "21-01", ["YYYY-MM"]),
    ("/encounters", {"month": "2021/01"}, "month", "2021/01", ["YYYY-MM"]),
    ("/seizures", {"fiscal_year": "FY21"}, "fiscal_year", "FY21", ["4-digit"]),
    ("/seizures", {"calendar_year": "20x1"}, "calendar_year", "20x1", ["4-digit"]),
    ("/overdose-deaths", {"year": "last"}, "year", "last", ["4-digit"]),
    ("/overdose-deaths", {"from": "2021-01"}, "from", "2021-01", ["4-digit"]),
    ("/seizures", {"offset": "-1"}, "offset", "-1", ["0"]),
    ("/seizures", {"area": "el paso"}, "area", "el paso", ["el-paso-field-office", "el-paso-sector"]),
    ("/encounters", {"sector": "san-diego-field-office"}, "sector", "san-diego-field-office",
     ["san-diego-sector", "rio-grande-valley-sector"]),
    ("/encounters", {"sector": "Laredo Field Office"}, "sector", "Laredo Field Office", ["laredo-sector"]),
    ("/encounters", {"source": "cbp-bogus"}, "source", "cbp-bogus",
     ["cbp-sw-encounters", "cbp-state-encounters", "ohss-sector-encounters"]),
    ("/seizures", {"format": "xml"}, "format", "xml", ["csv", "json"]),
    ("/areas", {"kind": "port"}, "kind", "port", ["field_office", "sector"]),
    ("/areas", {"state": "ZZ"}, "state", "ZZ", ["TX"]),
    ("/areas", {"region": "eastern"}, "region", "eastern", ["southwest"]),
    ("/releases", {"dataset": "weather"}, "dataset", "weather", ["seizures", "encounters"]),
    ("/seizure-events", {"drug": "unobtainium"}, "drug", "unobtainium", ["fentanyl"]),
    ("/seizure-events", {"from": "2021-13-01"}, "from", "2021-13-01", []),
    ("/drugs", {"colour": "red"}, "colour", "red", ["format"]),
    ("/datasets", {"colour": "red"}, "colour", "red", ["format"]),
]


@pytest.mark.parametrize(("path", "params", "parameter", "value", "accepted"), INVALID,
                         ids=[f"{p}-{'&'.join(f'{k}={v}' for k, v in q.items())}"
                              for p, q, *_ in INVALID])
def test_invalid_parameter_is_a_422_naming_the_parameter_value_and_accepted_values(
        client, path, params, parameter, value, accepted):
    error = error_of(client, path, params)
    assert error["code"] == "invalid_parameter"
    assert error["parameter"] == parameter
    assert error["value"] == value
    assert mentions(error, *accepted), error


@pytest.mark.parametrize("value", ["0", "10001", "abc"])
@pytest.mark.parametrize("path", DATA_PATHS)
def test_limit_out_of_range_is_a_422_stating_the_range(client, path, value):
    error = error_of(client, path, {"limit": value})
    assert (error["parameter"], error["value"]) == ("limit", value)
    text = error["message"] + " " + str(error.get("accepted", ""))
    assert re.search(r"\b1\b", text) and re.search(r"\b10,?000\b", text), text


@pytest.mark.parametrize("value", ["0", "10001", "abc", "1.5", ""])
@pytest.mark.parametrize("path", DATA_PATHS)
def test_limit_out_of_range_is_a_422_naming_limit(client, path, value):
    error = error_of(client, path, {"limit": value})
    assert (error["code"], error["parameter"], error["value"]) == ("invalid_parameter", "limit", value)


@pytest.mark.parametrize(("path", "params", "suggestion"), [
    ("/seizures", {"drug": "fentanil"}, "fentanyl"),
    ("/seizures", {"drug": "cocain"}, "cocaine"),
    ("/seizures", {"area": "san-deigo-field-office"}, "san-diego-field-office"),
    ("/encounters", {"sector": "tuscon-sector"}, "tucson-sector"),
    ("/encounters", {"region": "southwst"}, "southwest"),
])
def test_a_typo_gets_did_you_mean(client, path, params, suggestion):
    error = error_of(client, path, params)
    assert error["did_you_mean"] == suggestion
    assert suggestion in error["accepted"]


def test_ambiguous_area_offers_both_choices(client):
    error = error_of(client, "/seizures", {"area": "el paso"})
    assert error["accepted"] == ["el-paso-field-office", "el-paso-sector"]
    assert "ambiguous" in error["message"]
    assert client.get("/seizures", params={"port": "el paso"}).json()["meta"]["filters"]["area"] == [
        "el-paso-field-office"]


@pytest.mark.parametrize("params", [
    {"state": "TX", "encounter_type": "apprehensions"},
    {"sector": "rgv", "citizenship": "mexico"},
    {"state": "AZ", "component": "ofo"},
    {"area": "san-diego-field-office"},
    {"group_by": "state,encounter_type"},
])
def test_a_dimension_combination_no_release_has_is_a_422_listing_what_combines(client, params):
    error = error_of(client, "/encounters", params)
    assert error["code"] == "unsupported_combination"
    combinable = error["combinable"]
    assert set(combinable) == {"cbp-sw-encounters", "cbp-state-encounters", "ohss-sector-encounters"}
    assert "state" in combinable["cbp-state-encounters"]["dimensions"]
    assert "encounter_type" in combinable["cbp-sw-encounters"]["dimensions"]
    assert combinable["cbp-sw-encounters"]["only_region"] == ["Southwest Border"]
    assert combinable["ohss-sector-encounters"]["only_component"] == ["USBP"]
    assert set(error["requested"]) <= {"state", "encounter_type", "area", "citizenship", "component"}


@pytest.mark.parametrize(("source", "params"), [
    ("cbp-aor-encounters", {}),  # a known family with no loaded release
    ("cbp-sw-encounters", {"state": "TX"}),  # a loaded family without the dimension
    ("ohss-sector-encounters", {"component": "ofo"}),  # outside the family's scope
])
def test_a_source_that_cannot_answer_is_a_422_naming_source(client, source, params):
    error = error_of(client, "/encounters", {"source": source, **params})
    assert error["code"] == "unsupported_combination"
    assert (error["parameter"], error["value"]) == ("source", source)
    assert "cbp-state-encounters" in error["combinable"]


def test_a_source_that_can_answer_is_used(client):
    body = h.get_json(client, "/encounters", {"source": "ohss-sector-encounters", "component": "usbp",
                                              "region": "southwest", "fiscal_year": "2022"})
    assert body["meta"]["source"]["key"] == "ohss-sector-encounters"
    assert body["data"] == [{"encounter_count": 2_206_520}]  # SOURCES.md: OHSS SW FY2022 total


# --- odd inputs: never a 500 ---------------------------------------------------------------------

ODD_VALUES = ["", " ", ",,", "é日本語\u202e", "\x00", "%_*", "a" * 5000, "' OR '1'='1",
              "1; DROP TABLE seizure; --", "NaN", "-1", "99999999999999999999", "0000-01", "9999-12",
              "2021-02-30", "[]"]
PARAMETERS = {
    "/seizures": ["drug", "area", "port", "state", "component", "region", "land_filter",
                  "fiscal_year", "calendar_year", "month", "from", "to", "group_by", "sort",
                  "limit", "offset", "format", "bom", "sector"],
    "/encounters": ["area", "sector", "state", "component", "region", "demographic", "citizenship",
                    "title_of_authority", "encounter_type", "source", "fiscal_year", "month", "from",
                    "to", "group_by", "sort", "limit", "offset"],
    "/overdose-deaths": ["state", "category", "sex", "year", "from", "to", "group_by", "sort",
                         "limit", "offset"],
    "/drugs": ["format", "bom"],
    "/areas": ["state", "kind", "component", "region"],
    "/releases": ["dataset"],
    "/datasets": ["format"],
    "/seizure-events": ["port", "state", "drug", "from", "to"],
}



@pytest.mark.parametrize("path", list(PARAMETERS))
def test_odd_inputs_never_give_a_server_error(client, path):
    failures = []
    for name, value in itertools.product(PARAMETERS[path], ODD_VALUES):
        response = client.get(path, params={name: value})
        if response.status_code >= 500 or response.status_code not in (200, 422):
            failures.append((name, value[:40], response.status_code))
        elif response.status_code == 422:
            error = response.json()["error"]
            if not error.get("parameter") or "value" not in error:
                failures.append((name, value[:40], "422 without parameter/value"))
    for extra in ("group_by=,,", "group_by=area,,month", "sort=", "drug=a&drug=", "&&&", "=x",
                  "limit=5&limit=6", "format=csv&format=json"):
        response = client.get(f"{path}?{extra}")
        if response.status_code not in (200, 422):
            failures.append((extra, "", response.status_code))
    assert failures == []


@pytest.mark.parametrize("name", ["from", "to", "month"])
@pytest.mark.parametrize("path", ["/seizures", "/encounters"])
def test_year_zero_month_is_a_422_not_a_500(client, path, name):
    response = client.get(path, params={name: "0000-01"})
    assert response.status_code == 422
    assert response.json()["error"]["parameter"] == name


@pytest.mark.parametrize("path", ["/seizures", "/encounters"])
def test_last_representable_month_is_not_a_500(client, path):
    response = client.get(path, params={"month": "9999-12"})
    assert response.status_code in (200, 422)


def test_group_by_of_only_commas_is_a_422_listing_the_choices(client):
    for path in DATA_PATHS:
        error = error_of(client, path, {"group_by": ",,"})
        assert (error["parameter"], error["value"]) == ("group_by", ",,")
        assert error["accepted"]
