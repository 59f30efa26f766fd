"""Claims: the wording rules at their boundaries, every claim's figures against the source files,
the requests that reproduce each number, POST /claims/verify, and the empty database."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_helpers import api_client
from fastapi.testclient import TestClient
from official_csv import (
    OCT_2021_TO_APR_2022,
    fiscal_year_months,
    ohss_sector_encounters,
    seizure_lbs,
    southwest_encounters,
    state_encounters,
    us_overdose_deaths,
)

from app.claims import wording
from app.claims.registry import claim_ids
from app.claims.wording import APPROXIMATELY, DEPENDS, NO_DATA, NOT_SUPPORTED, SUPPORTED

SW, OFO = "Southwest Border", "Office of Field Operations"
FY2021, FY2022 = fiscal_year_months(2021), fiscal_year_months(2022)
CAAZ_PORTS = ["SAN DIEGO FIELD OFFICE", "TUCSON FIELD OFFICE"]
CAAZ_ALL = [*CAAZ_PORTS, "SAN DIEGO SECTOR", "EL CENTRO SECTOR", "YUMA SECTOR", "TUCSON SECTOR"]
TXNM_PORTS = ["EL PASO FIELD OFFICE", "LAREDO FIELD OFFICE"]
TXNM_SECTORS = ["EL PASO SECTOR", "BIG BEND SECTOR", "DEL RIO SECTOR", "LAREDO SECTOR",
                "RIO GRANDE VALLEY SECTOR"]
FOUR_SECTORS = ["El Paso, TX", "Rio Grande Valley, TX", "Del Rio, TX", "Laredo, TX"]


def expected_figures(d: Path) -> dict[tuple[str, str], tuple[float, float | None]]:
    """(claim, definition) -> (numerator, denominator), computed from the CSV files alone."""
    sw21 = seizure_lbs(d, months=FY2021, region=SW)
    sw21_ofo = seizure_lbs(d, months=FY2021, region=SW, component=OFO)
    caaz_ports = seizure_lbs(d, months=FY2021, region=SW, component=OFO, areas=CAAZ_PORTS)
    usbp_ytd = ohss_sector_encounters(d, months=OCT_2021_TO_APR_2022)
    out: dict[tuple[str, str], tuple[float, float | None]] = {
        ("fentanyl-fy2021-total", "sw-ports"): (sw21_ofo, None),
        ("fentanyl-fy2021-total", "sw-all"): (sw21, None),
        ("fentanyl-fy2021-total", "nationwide"): (seizure_lbs(d, months=FY2021), None),
        ("fentanyl-caaz-port-share", "caaz-ports-of-sw-ports"): (caaz_ports, sw21_ofo),
        ("fentanyl-caaz-port-share", "caaz-ports-of-sw-all"): (caaz_ports, sw21),
        ("fentanyl-caaz-port-share", "caaz-all-of-sw-all"):
            (seizure_lbs(d, months=FY2021, region=SW, areas=CAAZ_ALL), sw21),
        ("fentanyl-txnm-share", "txnm-all-of-sw-all"):
            (seizure_lbs(d, months=FY2021, region=SW, areas=TXNM_PORTS + TXNM_SECTORS), sw21),
        ("fentanyl-txnm-share", "txnm-sectors-of-sw-all"):
            (seizure_lbs(d, months=FY2021, region=SW, areas=TXNM_SECTORS), sw21),
        ("fentanyl-txnm-share", "txnm-sectors-of-sw-sectors"):
            (seizure_lbs(d, months=FY2021, region=SW, areas=TXNM_SECTORS),
             seizure_lbs(d, months=FY2021, region=SW, component="U.S. Border Patrol")),
        ("fentanyl-txnm-share", "txnm-ports-of-sw-ports"):
            (seizure_lbs(d, months=FY2021, region=SW, areas=TXNM_PORTS), sw21_ofo),
        ("encounters-fy2022-to-date", "usbp-sector-series"): (usbp_ytd, None),
        ("encounters-fy2022-to-date", "cbp-all"):
            (southwest_encounters(d, months=OCT_2021_TO_APR_2022), None),
        ("encounters-four-sectors", "four-sectors"):
            (ohss_sector_encounters(d, months=OCT_2021_TO_APR_2022, sectors=FOUR_SECTORS), None),
        ("encounters-four-sectors", "four-sectors-share"):
            (ohss_sector_encounters(d, months=OCT_2021_TO_APR_2022, sectors=FOUR_SECTORS),
             usbp_ytd),
        ("overdose-deaths-2021", "nchs-final-2021"): (us_overdose_deaths(d, 2021), None),
    }
    for claim, states in (("encounters-caaz-share", ["CA", "AZ"]),
                          ("encounters-txnm-share", ["TX", "NM"])):
        for definition, months in (("fy2021", FY2021), ("fy2022", FY2022),
                                   ("fy2022-oct-apr", OCT_2021_TO_APR_2022)):
            out[(claim, definition)] = (state_encounters(d, months=months, states=states),
                                        state_encounters(d, months=months))
    return out


# Verdicts of (primary, alternatives...) and overall, given the figures above.
EXPECTED_VERDICTS = {
    "fentanyl-fy2021-total": ([SUPPORTED, SUPPORTED, NOT_SUPPORTED], DEPENDS),
    "fentanyl-caaz-port-share": ([APPROXIMATELY, NOT_SUPPORTED, NOT_SUPPORTED], DEPENDS),
    "encounters-caaz-share": ([SUPPORTED, NOT_SUPPORTED, NOT_SUPPORTED], DEPENDS),
    "encounters-txnm-share": ([SUPPORTED, NOT_SUPPORTED, NOT_SUPPORTED], DEPENDS),
    "fentanyl-txnm-share": ([NOT_SUPPORTED, SUPPORTED, NOT_SUPPORTED, NOT_SUPPORTED], DEPENDS),
    "encounters-fy2022-to-date": ([SUPPORTED, SUPPORTED], SUPPORTED),
    "encounters-four-sectors": ([SUPPORTED, SUPPORTED], SUPPORTED),
    "overdose-deaths-2021": ([SUPPORTED], SUPPORTED),
}

VERIFY_BODY: dict[str, Any] = {
    "claim": "Ports of entry seized most of the Southwest Border's fentanyl in FY2021.",
    "comparator": {"op": ">", "value": 0.9, "unit": "share", "precision": 0.01},
    "definitions": [{
        "id": "ports", "label": "OFO / all, Southwest Border, lbs, FY2021", "kind": "share",
        "dataset": "seizures", "measure": "quantity_lbs",
        "filters": {"drug": "fentanyl", "fiscal_year": 2021},
        "part": {"component": "ofo"}, "base": {"region": "southwest"},
    }],
}


@pytest.fixture(scope="module")
def client(loaded_url: str) -> Iterator[TestClient]:
    with api_client(loaded_url) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def claims(client: TestClient) -> dict[str, dict[str, Any]]:
    response = client.get("/claims")
    assert response.status_code == 200
    return {c["id"]: c for c in response.json()["data"]}


def definitions(claim: dict[str, Any]) -> list[dict[str, Any]]:
    return [claim["primary"], *claim["alternatives"]]


# --- every claim against the source files -------------------------------------------------------

def test_claims_lists_every_registered_claim(claims: dict[str, dict[str, Any]]) -> None:
    assert list(claims) == claim_ids() == list(EXPECTED_VERDICTS)


def test_every_figure_matches_the_source_files(claims: dict[str, dict[str, Any]],
                                               data_dir: Path) -> None:
    expected = expected_figures(data_dir)
    seen = set()
    for claim in claims.values():
        for definition in definitions(claim):
            numerator, denominator = expected[(claim["id"], definition["id"])]
            seen.add((claim["id"], definition["id"]))
            assert definition["numerator"]["value"] == pytest.approx(numerator, abs=1e-5)
            if denominator is None:
                assert definition["denominator"] is None
                assert definition["value"] == definition["numerator"]["value"]
            else:
                assert definition["denominator"]["value"] == pytest.approx(denominator, abs=1e-5)
                assert definition["value"] == pytest.approx(numerator / denominator, rel=1e-9)
    assert seen == set(expected)


def test_verdicts_per_definition_and_overall(claims: dict[str, dict[str, Any]]) -> None:
    for claim_id, (per_definition, overall) in EXPECTED_VERDICTS.items():
        claim = claims[claim_id]
        assert [d["verdict"] for d in definitions(claim)] == per_definition, claim_id
        assert claim["verdict"] == overall, claim_id


def test_caaz_port_share_is_approximately_more_than_ninety_percent(
        claims: dict[str, dict[str, Any]]) -> None:
    primary = claims["fentanyl-caaz-port-share"]["primary"]
    assert 0.895 <= primary["value"] < 0.9
    assert "rounded half up" in primary["explanation"]


def test_each_number_is_reproduced_by_its_request(client: TestClient,
                                                  claims: dict[str, dict[str, Any]]) -> None:
    for claim in claims.values():
        for definition in definitions(claim):
            measure = definition["measure"]
            for key in ("numerator", "denominator"):
                figure = definition[key]
                if figure is None:
                    continue
                assert figure["request"].startswith(("/seizures?", "/encounters?",
                                                     "/overdose-deaths?"))
                rows = client.get(figure["request"]).json()["data"]
                assert rows == [{measure: figure["value"], **_other_measures(rows[0], measure)}]
            answer = client.get(definition["value_request"]).json()
            if definition["kind"] == "share":
                assert definition["value_request"].startswith("/comparisons/")
                assert answer["meta"]["share"] == definition["value"]
            else:
                assert answer["data"][0][measure] == definition["value"]


def _other_measures(row: dict[str, Any], measure: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != measure}


def test_every_figure_names_its_releases_and_filters(claims: dict[str, dict[str, Any]]) -> None:
    for claim in claims.values():
        assert claim["releases"], claim["id"]
        release_ids = {r["id"] for r in claim["releases"]}
        for definition in definitions(claim):
            for key in ("numerator", "denominator"):
                figure = definition[key]
                if figure is not None:
                    assert figure["releases"] and figure["filters"] and figure["complete"] is True
                    assert {r["id"] for r in figure["releases"]} <= release_ids


def test_encounter_shares_take_part_and_base_from_one_source(
        claims: dict[str, dict[str, Any]]) -> None:
    for claim_id, source in (("encounters-caaz-share", "cbp-state-encounters"),
                             ("encounters-four-sectors", "ohss-sector-encounters")):
        for definition in definitions(claims[claim_id]):
            if definition["kind"] == "share":
                assert definition["numerator"]["source"] == source
                assert definition["denominator"]["source"] == source
                assert f"source={source}" in definition["numerator"]["request"]
                assert f"source={source}" in definition["denominator"]["request"]


def test_one_claim_by_id(client: TestClient, claims: dict[str, dict[str, Any]]) -> None:
    response = client.get("/claims/encounters-four-sectors")
    assert response.status_code == 200
    assert response.json()["data"] == claims["encounters-four-sectors"]
    assert response.json()["meta"]["rules"]["verdicts"] == list(wording.VERDICTS)


def test_unknown_claim_is_404_listing_valid_ids(client: TestClient) -> None:
    response = client.get("/claims/fentanyl-everywhere")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found" and error["accepted"] == claim_ids()


# --- POST /claims/verify -------------------------------------------------------------------------

def test_verify_evaluates_a_submitted_claim(client: TestClient, data_dir: Path) -> None:
    response = client.post("/claims/verify", json=VERIFY_BODY)
    assert response.status_code == 200
    claim = response.json()["data"]
    numerator = seizure_lbs(data_dir, months=FY2021, region=SW, component=OFO)
    denominator = seizure_lbs(data_dir, months=FY2021, region=SW)
    assert claim["primary"]["value"] == pytest.approx(numerator / denominator, rel=1e-9)
    assert claim["primary"]["verdict"] == claim["verdict"] == SUPPORTED  # 90.5 % > 90 %


def test_verify_without_data_for_the_period_is_no_data(client: TestClient) -> None:
    body = _changed(VERIFY_BODY, lambda d: d["filters"].update(fiscal_year="2031"))
    claim = client.post("/claims/verify", json=body).json()["data"]
    assert claim["primary"]["value"] is None
    assert claim["verdict"] == NO_DATA


def test_verify_on_a_partly_covered_period_gives_no_verdict(client: TestClient) -> None:
    body = _changed(VERIFY_BODY, lambda d: d["filters"].update(fiscal_year="2026"))
    claim = client.post("/claims/verify", json=body).json()["data"]
    assert claim["primary"]["numerator"]["complete"] is False
    assert claim["verdict"] == NO_DATA


def test_claims_posted_in_turn_each_answer_for_their_own_wording(client: TestClient) -> None:
    """Parts of an answer that depend only on the claim (its wording, comparator) are kept per
    claim object and verdicts per figure and wording: claims posted in turn, with the registered
    ones read between them, each get their own, the same each time."""
    wordings = [({"op": ">", "value": 0.9}, SUPPORTED, "'more than X'"),
                ({"op": "<", "value": 0.9}, NOT_SUPPORTED, "'less than X'"),
                ({"op": ">", "value": 0.95}, NOT_SUPPORTED, "'more than X'"),
                ({"op": "about", "value": 0.9, "tolerance": 0.2}, SUPPORTED, "Tolerance used: 20 %")]
    seen: dict[int, dict[str, Any]] = {}
    for _ in range(2):
        for index, (comparator, verdict, rule) in enumerate(wordings):
            body = _changed(VERIFY_BODY, lambda d: None)
            body["comparator"] = {**comparator, "unit": "share", "precision": 0.01}
            body["claim"] = f"wording {index}"
            claim = client.post("/claims/verify", json=body).json()["data"]
            assert claim["claim"] == f"wording {index}"
            assert claim["comparator"] == claim["primary"]["comparator"] == {
                "tolerance": None, **body["comparator"]}
            assert rule in claim["wording_rule"] and rule in claim["primary"]["wording_rule"]
            assert claim["primary"]["verdict"] == claim["verdict"] == verdict
            assert seen.setdefault(index, claim) == claim
            assert client.get("/claims").status_code == 200


def test_a_posted_claim_is_judged_and_written_for_itself_and_nothing_of_it_is_kept(
        client: TestClient) -> None:
    """A posted claim's verdict and document are made for its request: X = -0.0 and X = 0.0,
    posted in either order, each say their own X, and posting keeps nothing (a long unit kept
    per verdict would let posts grow a worker's memory)."""
    from app.claims import wording
    from app.render import claims as rendered

    kept = (wording._judged.cache_info().currsize, len(rendered._TEMPLATES))
    for values in ((-0.0, 0.0), (0.0, -0.0)):
        for value in values:
            body = _changed(VERIFY_BODY, lambda d: None)
            body["comparator"] = {"op": ">", "value": value, "unit": "share"}
            claim = client.post("/claims/verify", json=body).json()["data"]
            shown = "-0 %" if str(value).startswith("-") else "than 0 %"
            assert shown in claim["primary"]["explanation"], (value, claim["primary"]["explanation"])
    body = _changed(VERIFY_BODY, lambda d: None)
    body["comparator"] = {"op": ">", "value": 0.5, "unit": "x" * 5000}
    assert client.post("/claims/verify", json=body).status_code == 200
    assert (wording._judged.cache_info().currsize, len(rendered._TEMPLATES)) == kept


def test_kept_verdicts_tell_numbers_apart_as_they_are_written() -> None:
    """-0.0 == 0.0, but the explanation writes X as it is written: a kept verdict of one is not
    given for the other, whichever is judged first."""
    from app.claims.wording import judge_kept

    for order in ((0.0, -0.0), (-0.0, 0.0)):
        for target in order:
            explanation = judge_kept(value=0.5, op=">", target=target, unit="share").explanation
            assert explanation.endswith("-0 % by the rule") == (str(target) == "-0.0"), explanation


@pytest.mark.parametrize(("change", "parameter", "accepted"), [
    (lambda d: d["filters"].update(drug="fentanil"), "definitions[0].filters.drug", "fentanyl"),
    (lambda d: d["part"].update(area="nowhere"), "definitions[0].part.area",
     "san-diego-field-office"),
    (lambda d: d["filters"].update(colour="red"), "definitions[0].filters.colour", "drug"),
    (lambda d: d["base"].update(fiscal_year="2021"), "definitions[0].base.fiscal_year", None),
    (lambda d: d["part"].update(region="northern"), "definitions[0].part.region", None),
    (lambda d: d.update(measure="deaths"), "definitions[0].measure", None),
    (lambda d: d.update(part={}), "definitions[0]", None),
    (lambda d: d["filters"].update(group_by="area"), "definitions[0].filters", None),
])
def test_verify_rejects_an_invalid_definition(client: TestClient, change: Any, parameter: str,
                                              accepted: str | None) -> None:
    response = client.post("/claims/verify", json=_changed(VERIFY_BODY, change))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["parameter"] == parameter
    if accepted:
        assert accepted in error["accepted"]


def test_verify_rejects_an_unknown_comparator(client: TestClient) -> None:
    body = copy.deepcopy(VERIFY_BODY)
    body["comparator"]["op"] = "roughly"
    error = client.post("/claims/verify", json=body).json()["error"]
    assert error["parameter"] == "comparator.op"
    assert error["accepted"] == [">", "<", ">=", "<=", "about", "nearly"]


def _changed(body: dict[str, Any], change: Any) -> dict[str, Any]:
    out = copy.deepcopy(body)
    change(out["definitions"][0])
    return out


# --- empty database ------------------------------------------------------------------------------

def test_empty_database_answers_no_data(database_url: str) -> None:
    with api_client(database_url) as empty:
        response = empty.get("/claims")
        assert response.status_code == 200
        for claim in response.json()["data"]:
            assert claim["verdict"] == NO_DATA
            assert all(d["verdict"] == NO_DATA and d["value"] is None for d in definitions(claim))
        verified = empty.post("/claims/verify", json=VERIFY_BODY)
        assert verified.status_code == 200 and verified.json()["data"]["verdict"] == NO_DATA
        assert empty.get("/claims/overdose-deaths-2021").json()["data"]["verdict"] == NO_DATA
