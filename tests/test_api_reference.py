"""Reference endpoints (/drugs, /areas, /releases, /datasets, /seizure-events) and the OpenAPI document."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections import defaultdict

import api_helpers as h
import pytest


@pytest.fixture(scope="module")
def client(loaded_url: str):
    with h.api_client(loaded_url) as test_client:
        yield test_client


SEED_DRUGS = json.loads((h.SEED_DIR / "drugs.json").read_text())["drugs"]
SEED_EVENTS = json.loads((h.SEED_DIR / "seizure_events.json").read_text())["events"]


# --- /drugs --------------------------------------------------------------------------------------

def test_drugs_list_every_drug_of_the_seizure_files_with_aliases(client):
    body = h.get_json(client, "/drugs")
    in_files = {r["Drug Type"] for name in h.SEIZURE_FILES for r in h.read_csv(name)}
    assert {d["source_name"] for d in body["data"]} == in_files
    assert body["data"] == [{"slug": d["slug"], "name": d["name"], "source_name": d["source_name"],
                             "aliases": d["aliases"]} for d in sorted(SEED_DRUGS, key=lambda d: d["slug"])]
    assert body["meta"]["row_count"] == len(in_files) == 10


@pytest.mark.parametrize("drug", SEED_DRUGS, ids=[d["slug"] for d in SEED_DRUGS])
def test_every_drug_alias_selects_that_drug(client, drug):
    for spelling in (drug["slug"], drug["name"], drug["source_name"], *drug["aliases"]):
        body = h.get_json(client, "/seizures", {"drug": spelling, "fiscal_year": "2021"})
        assert body["meta"]["filters"]["drug"] == [drug["slug"]], spelling
    mine = [r for r in h.seizures()[0] if r["drug"] == drug["slug"] and h.fiscal_year_of(r["month"]) == 2021]
    assert body["data"][0]["event_count"] == h.total(mine, "event_count")


# --- /areas --------------------------------------------------------------------------------------

def seed_area_rows(predicate=lambda a: True) -> list[str]:
    return sorted(s for s, a in h.seed_areas().items() if predicate(a))


@pytest.mark.parametrize(("params", "predicate"), [
    ({}, lambda a: True),
    ({"state": "NM"}, lambda a: "NM" in a["states"]),
    ({"state": "texas"}, lambda a: "TX" in a["states"]),
    ({"state": "AZ,CA"}, lambda a: {"AZ", "CA"} & set(a["states"])),
    ({"kind": "sector"}, lambda a: a["kind"] == "sector"),
    ({"kind": "field_office", "region": "southwest"},
     lambda a: a["kind"] == "field_office" and a["region"] == "Southwest Border"),
    ({"component": "usbp", "region": "northern"},
     lambda a: a["component"] == "USBP" and a["region"] == "Northern Border"),
    ({"component": "Office of Field Operations", "state": "CA"},
     lambda a: a["component"] == "OFO" and "CA" in a["states"]),
])
def test_areas_filter_by_state_kind_component_and_region(client, params, predicate):
    rows = h.get_json(client, "/areas", params)["data"]
    assert [r["slug"] for r in rows] == seed_area_rows(predicate)
    for row in rows:
        seed = h.seed_areas()[row["slug"]]
        assert (row["name"], row["kind"], row["component"], row["region"], row["states"],
                row["state_basis"], row["aliases"]) == (
            seed["name"], seed["kind"], seed["component"], seed["region"], sorted(seed["states"]),
            seed["state_basis"], seed["aliases"])


def test_el_paso_field_office_covers_new_mexico_and_texas(client):
    rows = {r["slug"]: r for r in h.get_json(client, "/areas", {"region": "southwest"})["data"]}
    assert rows["el-paso-field-office"]["states"] == ["NM", "TX"]
    assert rows["el-paso-sector"]["states"] == ["NM", "TX"]
    assert rows["yuma-sector"]["states"] == ["AZ", "CA"]
    assert len(rows) == 13


def test_every_area_in_the_files_is_listed(client):
    slugs = {r["slug"] for r in h.get_json(client, "/areas")["data"]}
    assert {r["area"] for r in h.seizures()[0]} <= slugs
    assert {r["area"] for r in h.ohss_encounters()[0]} <= slugs


# --- /releases -----------------------------------------------------------------------------------

def _close(a: tuple, b: tuple) -> bool:
    return all(math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-6) for x, y in zip(a, b, strict=True))


def monthly_cells() -> dict[str, dict[dt.date, dict[tuple, tuple]]]:
    """file -> month -> cell -> measures, for every monthly file (csv module only)."""
    out: dict[str, dict[dt.date, dict[tuple, tuple]]] = {}
    for name in h.SEIZURE_FILES:
        cells: dict = defaultdict(dict)
        for r in h.read_csv(name):
            month = h.fiscal_month(int(r["FY"][:4]), r["Month (abbv)"])
            key = (r["Area of Responsibility"].upper(), r["Drug Type"], r["Component"], r["Region"],
                   r["Land Filter"])
            cells[month][key] = (int(r["Count of Event"]), float(r["Sum Qty (lbs)"]))
        out[name] = cells
    for name in h.SW_FILES:
        cells = defaultdict(dict)
        for r in h.read_csv(name):
            month = h.fiscal_month(int(r["Fiscal Year"][:4]), r["Month (abbv)"])
            key = (r["Component"], h.DEMOGRAPHIC.get(r["Demographic"], r["Demographic"]),
                   r["Citizenship Grouping"].upper(), r["Title of Authority"], r["Encounter Type"])
            cells[month][key] = (int(float(r["Encounter Count"])),)
        out[name] = cells
    cells = defaultdict(dict)
    for r in h.read_csv(h.STATE_FILE):
        month = h.fiscal_month(int(r["Fiscal Year"][:4]), r["Month (abbv)"])
        cells[month][(r["Land Border Region"], r["State"], r["Demographic"], r["Citizenship"],
                      r["Title of Authority"])] = (int(r["Encounter Count"]),)
    out[h.STATE_FILE] = cells
    ohss = defaultdict(dict)
    for r in h.ohss_encounters()[0]:
        ohss[r["month"]][(r["region"], r["area"])] = (r["encounter_count"],)
    for name in h.OHSS_FILES:  # the CSV is the workbook's sheet, values unchanged (SOURCES.md)
        out[name] = ohss
    return out


FAMILIES = {"seizures": h.SEIZURE_FILES, "sw": h.SW_FILES, "state": (h.STATE_FILE,),
            "ohss": h.OHSS_FILES}


def expected_revisions() -> dict[str, dict]:
    """Replay the loads in name order: what each file did to the months of its family."""
    cells = monthly_cells()
    out = {}
    for files in FAMILIES.values():
        owner: dict[dt.date, str] = {}
        rank = {}
        for i, name in enumerate(sorted(files)):
            months = cells[name]
            rank[name] = (max(months), min(months), i)
            status = {}
            for month in sorted(months):
                old = owner.get(month)
                wins = old is None or rank[name] > rank[old]
                if old is None:
                    status[month] = "new"
                elif months[month].keys() == cells[old][month].keys() and all(
                        _close(v, cells[old][month][k]) for k, v in months[month].items()):
                    status[month] = "unchanged"
                else:
                    status[month] = "revised" if wins else "superseded"
                if wins:
                    owner[month] = name
            out[name] = {"status": status, "start": min(months), "end": max(months)}
        for name in files:
            out[name]["current"] = sum(1 for f in owner.values() if f == name)
    return out


def data_rows(name: str) -> int:
    if name.endswith(".xlsx"):
        return len(h.read_csv(h.OHSS_CSV))
    return len(h.read_csv(name))


def test_releases_list_every_loaded_file_with_its_period_and_revisions(client, data_files):
    body = h.get_json(client, "/releases")
    rows = {r["file_name"]: r for r in body["data"]}
    assert set(rows) == {p.name for p in data_files} | {h.REFERENCE_DEATHS_FILE}
    assert [r["id"] for r in body["data"]] == sorted((r["id"] for r in body["data"]), reverse=True)
    for path in data_files:
        row = rows[path.name]
        assert row["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert row["row_count"] == data_rows(path.name), path.name
    revisions = expected_revisions()
    for name, expected in revisions.items():
        row = rows[name]
        status = expected["status"]
        assert (row["period_start"], row["period_end"]) == (
            f"{expected['start']:%Y-%m}", f"{expected['end']:%Y-%m}"), name
        counts = {s: sum(1 for v in status.values() if v == s)
                  for s in ("new", "revised", "unchanged", "superseded")}
        assert (row["periods_new"], row["periods_revised"], row["periods_unchanged"],
                row["periods_superseded"]) == tuple(counts.values()), name
        assert row["revised_periods"] == [f"{m:%Y-%m}" for m, s in sorted(status.items())
                                          if s == "revised"], name
        assert row["current_periods"] == expected["current"], name
    # the later Southwest file revises FY2022 cell by cell (same totals, other cells)
    assert rows["cbp-sw-encounters-fy22-fy25-aug.csv"]["revised_periods"] == [
        f"{m:%Y-%m}" for m in h.fiscal_year_months(2022)]


def test_releases_of_overdose_deaths_give_their_years(client):
    listing = h.get_json(client, "/releases", {"dataset": "overdose_deaths"})["data"]
    rows = {r["file_name"]: r for r in listing}
    assert set(rows) == {h.US_DEATHS_FILE, h.DRUG_DEATHS_FILE, h.STATE_DEATHS_FILE,
                         h.REFERENCE_DEATHS_FILE}
    reference = rows[h.REFERENCE_DEATHS_FILE]
    assert (reference["period_start"], reference["period_end"]) == (
        str(min(h.reference_deaths())), str(max(h.reference_deaths())))
    assert "Data Brief" in reference["citation"]
    state_years = {y for _s, y in h.state_deaths()}
    drug_years = {k[2] for k in h.drug_deaths()}
    assert (rows[h.STATE_DEATHS_FILE]["period_start"], rows[h.STATE_DEATHS_FILE]["period_end"]) == (
        str(min(state_years)), str(max(state_years)))
    assert (rows[h.US_DEATHS_FILE]["period_start"], rows[h.US_DEATHS_FILE]["period_end"]) == (
        str(min(h.us_deaths())), str(max(h.us_deaths())))
    assert rows[h.DRUG_DEATHS_FILE]["period_start"] == str(min(drug_years))
    assert all(r["dataset"] == "overdose_deaths" and r["grain"] == "year" for r in rows.values())


def test_every_death_file_behind_a_served_figure_answers_for_some_years(client):
    listing = h.get_json(client, "/releases", {"dataset": "overdose_deaths"})["data"]
    rows = {r["file_name"]: r for r in listing}
    national = h.get_json(client, "/overdose-deaths", {"year": "2021"})
    cited = {r["file_name"] for r in national["meta"]["releases"]}
    cited |= {r["file_name"] for r in h.get_json(client, "/overdose-deaths", {
        "group_by": "state", "year": "2021"})["meta"]["releases"]}
    assert cited == {h.national_death_file(2021), h.STATE_DEATHS_FILE}
    assert all(rows[name]["current_periods"] > 0 for name in cited)


def test_releases_filter_by_dataset(client):
    for dataset, files in (("seizures", set(h.SEIZURE_FILES)),
                           ("encounters", {*h.SW_FILES, h.STATE_FILE, *h.OHSS_FILES})):
        rows = h.get_json(client, "/releases", {"dataset": dataset})["data"]
        assert {r["file_name"] for r in rows} == files


# --- /datasets -----------------------------------------------------------------------------------

def test_datasets_describe_measures_dimensions_grains_and_coverage(client):
    body = {d["name"]: d for d in h.get_json(client, "/datasets")["data"]}
    assert list(body) == ["seizures", "encounters", "overdose_deaths"]
    seizures, encounters, deaths = body["seizures"], body["encounters"], body["overdose_deaths"]
    assert [(m["name"], m["unit"]) for m in seizures["measures"]] == [
        ("quantity_lbs", "lb"), ("quantity_kg", "kg"), ("event_count", "events")]
    assert [m["name"] for m in encounters["measures"]] == ["encounter_count"]
    assert [m["name"] for m in deaths["measures"]] == ["deaths", "rate"]
    assert [g["name"] for g in seizures["grains"]] == list(h.MONTHLY_GRAINS)
    assert [g["name"] for g in encounters["grains"]] == list(h.MONTHLY_GRAINS)
    assert [g["name"] for g in deaths["grains"]] == ["year"]

    dims = {d["name"]: d for d in seizures["dimensions"]}
    assert set(dims) == {"drug", "area", "state", "component", "region", "land_filter"}
    assert dims["drug"]["values"] == sorted(d["slug"] for d in SEED_DRUGS)
    assert set(dims["area"]["synonyms"]) == {"port", "sector"}
    assert set(dims["area"]["values"]) == set(h.seed_areas())
    assert set(dims["region"]["values"]) == {"Southwest Border", "Northern Border", "Coastal/Interior"}
    assert set(dims["land_filter"]["values"]) == {"Land Only", "Other"}

    dims = {d["name"]: d for d in encounters["dimensions"]}
    citizenships = ({r["citizenship"] for r in h.state_encounters()[0]}
                    | {r["citizenship"] for r in h.sw_encounters()[0]})
    assert set(dims["citizenship"]["values"]) == citizenships
    assert set(dims["demographic"]["values"]) == {r["demographic"] for r in h.sw_encounters()[0]}
    assert set(dims["encounter_type"]["values"]) == {"Apprehensions", "Expulsions", "Inadmissibles"}
    assert set(dims["title_of_authority"]["values"]) == {"Title 8", "Title 42"}

    sources = {s["key"]: s for s in encounters["sources"]}
    for key, (_rows, owner) in (("cbp-sw-encounters", h.sw_encounters()),
                                ("cbp-state-encounters", h.state_encounters()),
                                ("ohss-sector-encounters", h.ohss_encounters())):
        assert sources[key]["loaded"] is True
        assert sources[key]["coverage"] == {"first_month": f"{min(owner):%Y-%m}",
                                            "last_month": f"{max(owner):%Y-%m}", "months": len(owner)}
    aor, ohss = sources["cbp-aor-encounters"], sources["ohss-sector-encounters"]
    assert aor["loaded"] is False and aor["coverage"] is None
    assert ohss["exact"] is False and ohss["caveat"]
    assert "state" in sources["cbp-state-encounters"]["dimensions"]
    _rows, owner = h.seizures()
    assert seizures["sources"][0]["coverage"] == {"first_month": f"{min(owner):%Y-%m}",
                                                  "last_month": f"{max(owner):%Y-%m}", "months": len(owner)}

    dims = {d["name"]: d for d in deaths["dimensions"]}
    assert set(dims["category"]["values"]) == {k[0] for k in h.drug_deaths()}
    assert set(dims["sex"]["values"]) == {"all", "female", "male"}
    assert dims["state"]["values"][0] == "US"
    years = {k[2] for k in h.drug_deaths()} | set(h.us_deaths()) | set(h.reference_deaths())
    assert deaths["coverage"] == {"first_year": min(years), "last_year": max(years)}


# --- /seizure-events -----------------------------------------------------------------------------

def seed_event_slugs(predicate) -> list[str]:
    events = sorted(SEED_EVENTS, key=lambda e: (e["event_date"], e["slug"]))
    return [e["slug"] for e in events if predicate(e)]


@pytest.mark.parametrize(("params", "predicate"), [
    ({}, lambda e: True),
    ({"port": "nogales"}, lambda e: e["port_of_entry"] == "Nogales"),
    ({"port": "HIDALGO"}, lambda e: e["port_of_entry"] == "Hidalgo"),
    ({"port": "nogales,hidalgo"}, lambda e: True),
    ({"port": "Hidalgo International Bridge"}, lambda e: e["port_of_entry"] == "Hidalgo"),
    ({"state": "AZ"}, lambda e: e["state"] == "AZ"),
    ({"state": "Texas"}, lambda e: e["state"] == "TX"),
    ({"drug": "fent"}, lambda e: e["drug"] == "fentanyl"),
    ({"drug": "heroin", "port": "nogales"}, lambda e: e["drug"] == "heroin"),
    ({"from": "2021-01-01"}, lambda e: e["event_date"] >= "2021-01-01"),
    ({"to": "2020-12-31"}, lambda e: e["event_date"] <= "2020-12-31"),
    ({"from": "2022-06-01", "to": "2022-06-01"}, lambda e: e["event_date"] == "2022-06-01"),
])
def test_seizure_events_filter_by_port_state_drug_and_dates(client, params, predicate):
    rows = h.get_json(client, "/seizure-events", params)["data"]
    assert [r["slug"] for r in rows] == seed_event_slugs(predicate)


def test_the_articles_hidalgo_and_nogales_events_are_served_as_published(client):
    rows = {r["slug"]: r for r in h.get_json(client, "/seizure-events")["data"]}
    hidalgo = rows["hidalgo-2022-06-fentanyl"]
    assert (hidalgo["port_of_entry"], hidalgo["state"], hidalgo["drug"], hidalgo["quantity_lbs"],
            hidalgo["quantity_qualifier"], hidalgo["reported_value_usd"], hidalgo["area"]) == (
        "Hidalgo", "TX", "fentanyl", 22, "more than", 340000, "laredo-field-office")
    nogales = rows["nogales-2020-11-fentanyl"]
    assert (nogales["port_of_entry"], nogales["state"], nogales["quantity_lbs"],
            nogales["quantity_qualifier"], nogales["event_date"], nogales["area"]) == (
        "Nogales", "AZ", 5, "nearly", "2020-11-01", "tucson-field-office")
    for event in SEED_EVENTS:
        row = rows[event["slug"]]
        assert {k: row[k] for k in event} == event


# --- OpenAPI -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def openapi(client) -> dict:
    return h.get_json(client, "/openapi.json")


def test_every_parameter_of_every_endpoint_has_a_description(openapi):
    missing = [(path, method, p["name"]) for path, ops in openapi["paths"].items()
               for method, op in ops.items() for p in op.get("parameters", [])
               if not (p.get("description") or "").strip()]
    assert missing == []
    seizures = {p["name"] for p in openapi["paths"]["/seizures"]["get"]["parameters"]}
    assert {"drug", "area", "port", "state", "component", "region", "land_filter", "fiscal_year",
            "calendar_year", "month", "from", "to", "group_by", "sort", "limit", "offset", "format",
            "bom"} <= seizures


def _has_200_example(op: dict) -> bool:
    ok = op.get("responses", {}).get("200", {})
    return any(media.get("example") is not None or media.get("examples")
               or (media.get("schema") or {}).get("example") is not None
               for media in ok.get("content", {}).values())


@pytest.mark.parametrize("path", ["/seizures", "/encounters", "/overdose-deaths"])
def test_data_endpoints_have_a_recorded_200_example(openapi, path):
    op = openapi["paths"][path]["get"]
    assert _has_200_example(op)
    example = op["responses"]["200"]["content"]["application/json"]["example"]
    assert example["data"] and example["meta"]["releases"]


def test_every_get_has_a_200_example(openapi):
    missing = [path for path, ops in openapi["paths"].items()
               if "get" in ops and not _has_200_example(ops["get"])]
    assert missing == []


def test_the_description_has_an_about_the_data_section(openapi):
    description = openapi["info"]["description"]
    assert "## About the data" in description
    about = description.split("## About the data", 1)[1]
    for word in ("fiscal", "OFO", "USBP", "nearest 10", "NCHS"):
        assert word in about, word
