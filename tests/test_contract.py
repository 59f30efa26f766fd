"""The typed contract: /openapi.json names a schema for every operation's answers, the recorded
examples and the live answers over the whole catalog validate against it, and a client generated
from it calls /seizures and reads the figures of the files."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import api_helpers as h
import pytest
from fastapi.testclient import TestClient
from openapi_contract import Contract

from app.api import examples
from app.claims.registry import registry
from app.compare.params import BASES
from app.datasets import DATASETS
from app.datasets.time import GRAIN_KEYS

ERROR_REF = {"$ref": "#/components/schemas/Error"}
PERIOD = {"month": "fiscal_year=2021", "year": "year=2021"}
NO_DATA_PERIOD = {"month": "fiscal_year=2005", "year": "year=1990"}


@pytest.fixture(scope="module")
def client(loaded_url: str) -> Iterator[TestClient]:
    with h.api_client(loaded_url) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def contract(client: TestClient) -> Contract:
    return Contract(h.get_json(client, "/openapi.json"))


def operations(openapi: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, item in openapi["paths"].items()
            for method, op in item.items()]


def component_of(openapi: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    return openapi["components"]["schemas"][schema["$ref"].rpartition("/")[2]]


# --- (1) every operation names its schemas ---------------------------------------------------------

def test_every_operation_names_a_schema_for_its_json_200_and_every_error(contract: Contract) -> None:
    openapi = contract.openapi
    assert len(operations(openapi)) == 23
    for method, path, op in operations(openapi):
        content = op["responses"]["200"]["content"]
        schema = content["application/json"]["schema"]
        assert set(schema) == {"$ref"}, (method, path)
        document = component_of(openapi, schema)
        assert document["type"] == "object" and document["properties"], (method, path)
        assert document["additionalProperties"] is False, (method, path)
        assert document.get("description"), (method, path)
        for media in set(content) - {"application/json"}:
            assert content[media]["schema"] == {"type": "string"}, (method, path, media)
        errors = [s for s in op["responses"] if s[0] in "45"]
        assert errors, (method, path)
        for status in errors:
            got = op["responses"][status]["content"]["application/json"]["schema"]
            expected = ({"$ref": "#/components/schemas/Readiness"}
                        if (path, status) == ("/readyz", "503") else ERROR_REF)
            assert got == expected, (method, path, status)


def test_the_error_schema_declares_every_key_and_allows_no_other(contract: Contract) -> None:
    detail = contract.component("ErrorDetail")
    assert detail["additionalProperties"] is False
    assert detail["required"] == ["code", "message"]
    assert all(prop.get("description") for prop in detail["properties"].values())


def test_operation_ids_are_the_handler_names(contract: Contract) -> None:
    ids = {(method, path): op["operationId"] for method, path, op in operations(contract.openapi)}
    assert ids[("get", "/seizures")] == "get_seizures"
    assert ids[("post", "/claims/verify")] == "verify_claim"
    assert len(set(ids.values())) == len(ids)


@pytest.mark.parametrize("dataset", list(DATASETS.values()), ids=list(DATASETS))
def test_each_data_row_schema_is_the_registry(contract: Contract, dataset: Any) -> None:
    """Every dimension output, grain key and measure of the dataset is a column of its rows, with
    its type, pattern and unit; nothing else is."""
    title = "".join(part.title() for part in dataset.name.split("_"))
    row = contract.component(f"{title}Row")
    props = row["properties"]
    outputs = {o.label for d in dataset.dimensions for o in d.shape.outputs}
    expected = outputs | set(dataset.time.grains) | set(dataset.measure_names) | {"period_complete"}
    assert set(props) == expected
    assert row["additionalProperties"] is False and "required" not in row
    for name in outputs:
        assert props[name]["type"] == "string" and props[name]["description"], name
    for grain in dataset.time.grains:
        kind, pattern = GRAIN_KEYS[grain]
        assert props[grain]["type"] == {str: "string", int: "integer"}[kind], grain
        assert props[grain].get("pattern") == pattern, grain
    for measure in dataset.measures:
        prop = props[measure.name]
        number = "integer" if measure.integer else "number"
        assert prop["anyOf"] == [{"type": number}, {"type": "null"}], measure.name
        assert prop["x-unit"] == measure.unit, measure.name
        assert f"Unit: {measure.unit}." in prop["description"], measure.name
    meta = contract.component(f"{title}Meta")
    assert ("source" in meta["required"]) == (len(dataset.families) > 1)
    measures = contract.component(f"{title}Measures")
    assert set(measures["required"]) == set(dataset.measure_names)


# --- (2) the recorded examples validate --------------------------------------------------------------

def documented_examples(openapi: dict[str, Any]) -> list[tuple[str, str, str, str, Any]]:
    out = []
    for method, path, op in operations(openapi):
        for status, response in op["responses"].items():
            for media, content in response.get("content", {}).items():
                if "example" in content:
                    out.append((method, path, status, media, content["example"]))
    return out


def test_every_documented_example_validates_against_its_schema(contract: Contract) -> None:
    found = [e for e in documented_examples(contract.openapi) if e[3] == "application/json"]
    assert len(found) >= len(examples.EXAMPLE_REQUESTS)
    for method, path, status, media, example in found:
        pointer = contract.schema_pointer(method, path, status, media)
        assert contract.errors(pointer, example) == [], (method, path, status)


def test_every_recorded_example_is_documented_as_recorded_and_validates(contract: Contract) -> None:
    """examples.json, answers and errors, nulls included, at its operation and status."""
    recorded = json.loads(examples.EXAMPLES_PATH.read_text(encoding="utf-8"))
    assert set(recorded) == set(examples.EXAMPLE_REQUESTS)
    checked = 0
    for path, entry in recorded.items():
        method = "post" if path == "/claims/verify" else "get"
        for key, status in (("json", "200"), ("error_422", "422"), ("error_404", "404")):
            if key not in entry:
                continue
            content = contract.openapi["paths"][path][method]["responses"][status]["content"]
            assert content["application/json"]["example"] == entry[key], (path, key)
            pointer = contract.schema_pointer(method, path, status, "application/json")
            assert contract.errors(pointer, entry[key]) == [], (path, key)
            checked += 1
    assert checked == len(recorded) + sum(1 for e in recorded.values()
                                          if "error_422" in e or "error_404" in e)


def test_a_recorded_example_that_drifts_fails_validation(contract: Contract) -> None:
    """The check can fail: a row with a key the schema does not declare, a figure as text."""
    recorded = json.loads(examples.EXAMPLES_PATH.read_text(encoding="utf-8"))["/seizures"]["json"]
    pointer = contract.schema_pointer("get", "/seizures", "200", "application/json")
    extra = {**recorded, "data": [{**recorded["data"][0], "pounds": 1.0}]}
    as_text = {**recorded, "data": [{**recorded["data"][0], "quantity_lbs": "9584.36"}]}
    no_meta_key = {**recorded, "meta": {k: v for k, v in recorded["meta"].items() if k != "complete"}}
    for broken in (extra, as_text, no_meta_key):
        assert len(contract.errors(pointer, broken)) == 1, broken["data"][0]


# --- (3) the live answers validate, over the catalog -------------------------------------------------

def data_requests() -> list[str]:
    """Each dataset's default answer, a page, a period with and without data, each time grain."""
    out = []
    for dataset in DATASETS.values():
        path, unit = dataset.path, dataset.time.unit
        out += [path, f"{path}?limit=1", f"{path}?{PERIOD[unit]}", f"{path}?{NO_DATA_PERIOD[unit]}"]
        out += [f"{path}?group_by={grain}" for grain in dataset.time.grains]
    return out


def comparison_requests() -> list[str]:
    out = [examples.EXAMPLE_REQUESTS[p] for p in examples.EXAMPLE_REQUESTS
           if p.startswith("/comparisons")]
    out += [f"/comparisons/seizure-share?drug=fentanyl&fiscal_year=2021&part_state=AZ&base={b}"
            for b in BASES]
    out += ["/comparisons/seizure-share?drug=fentanyl&fiscal_year=2005&part_state=AZ",
            "/comparisons/encounter-share?fiscal_year=2022&part_area=tucson-sector&base_area=tucson-sector"
            ",yuma-sector",
            "/comparisons/seizures-vs-encounters?groups=CA,AZ%3BNM,TX%3BAZ&fiscal_year=2022",
            "/comparisons/ports-vs-between?drug=methamphetamine&calendar_year=2022",
            "/comparisons/ports-vs-between?drug=fentanyl&fiscal_year=2005",
            "/comparisons/change?dataset=seizures&before=FY2021&after=FY2022&drug=fentanyl",
            "/comparisons/change?dataset=encounters&before=FY2025&after=FY2026",
            "/comparisons/change?dataset=encounters&before=FY2025&after=FY2026&like_for_like=false",
            "/comparisons/change?dataset=overdose_deaths&before=2019..2020&after=2021&state=AZ"]
    return out


def reference_requests() -> list[str]:
    return (["/drugs", "/areas", "/areas?kind=sector", "/areas?state=TX&component=ofo", "/releases",
             "/datasets", "/seizure-events", "/seizure-events?port=nogales", "/healthz", "/readyz",
             "/", "/claims"]
            + [f"/releases?dataset={name}" for name in DATASETS]
            + [f"/revisions?dataset={name}" for name in DATASETS]
            + ["/revisions?dataset=encounters&citizenship=mexico&limit=5",
               "/seizures?drug=fentanyl&fiscal_year=2021&as_of=3",
               "/comparisons/ports-vs-between?drug=fentanyl&fiscal_year=2021&as_of=3",
               "/claims/fentanyl-caaz-port-share?as_of=3",
               "/cite?url=%2Fseizures%3Fdrug%3Dfentanyl%26fiscal_year%3D2021", "/status"]
            + [f"/claims/{claim.id}" for claim in registry().claims])


ERROR_REQUESTS = [*examples.ERROR_REQUESTS.values(),
                  "/seizures?fiscal_yaer=2021", "/seizures?limit=0&offset=-1&format=xml",
                  "/encounters?group_by=state,area", "/encounters?source=ohss-sector-encounters"
                  "&component=ofo", "/overdose-deaths?state=AZ,US", "/areas?kind=port",
                  "/comparisons/change?dataset=seizures&before=FY2021",
                  "/seizures?port=Nogales", "/seizures?format=csv&limit=5",
                  "/seizures?as_of=tomorrow", "/revisions", "/cite?url=%2Fhealthz"]

SWEEP = data_requests() + comparison_requests() + reference_requests()


def test_the_sweep_reaches_every_operation(contract: Contract) -> None:
    reached = {("get", contract.template(url.partition("?")[0])) for url in SWEEP + ERROR_REQUESTS}
    reached.add(("post", "/claims/verify"))
    assert reached == {(method, path) for method, path, _ in operations(contract.openapi)}


@pytest.mark.parametrize("url", SWEEP)
def test_every_answer_of_the_sweep_conforms(client: TestClient, contract: Contract, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200, (url, response.text[:500])
    assert contract.problems(response) == []


def family_requests(dataset: Any, family: Any) -> list[str]:
    """A family's every dimension (by each of its names) grouped, alone and with each grain, in
    JSON and NDJSON, within the population the family covers."""
    params = [("source", family.key)] if len(dataset.families) > 1 else []
    params += [(dim, ",".join(sorted(values))) for dim, values in family.only.items()]
    base = f"{dataset.path}?{PERIOD[dataset.time.unit]}&" + "&".join(f"{k}={quote(v)}"
                                                                    for k, v in params)
    out = [base.rstrip("&")]
    for dim in (d for d in dataset.dimensions if d.name in family.dimensions):
        out += [f"{base}&group_by={name}" for name in dim.names()]
        out.append(f"{base}&group_by={dim.name}&format=ndjson")
        out += [f"{base}&group_by={dim.name},{grain}&limit=20" for grain in dataset.time.grains]
    return out


@pytest.mark.parametrize("dataset", list(DATASETS.values()), ids=list(DATASETS))
def test_every_loaded_family_answers_each_of_its_dimensions_within_the_schema(
        client: TestClient, contract: Contract, dataset: Any) -> None:
    listing = next(d for d in h.get_json(client, "/datasets")["data"] if d["name"] == dataset.name)
    loaded = {s["key"] for s in listing["sources"] if s["loaded"]}
    families = [f for f in dataset.families if f.key in loaded]
    assert families, dataset.name
    checked = 0
    for family in families:
        for url in family_requests(dataset, family):
            response = client.get(url)
            assert response.status_code == 200, (url, response.text[:500])
            assert contract.problems(response) == []
            checked += 1
    assert checked >= sum(len(f.dimensions) for f in families)


def test_answers_without_data_are_nulls_the_schema_allows(client: TestClient,
                                                          contract: Contract) -> None:
    for dataset in DATASETS.values():
        response = client.get(f"{dataset.path}?{NO_DATA_PERIOD[dataset.time.unit]}")
        row = response.json()["data"][0]
        assert all(row[m] is None for m in dataset.measure_names), (dataset.name, row)
        assert contract.problems(response) == []


@pytest.mark.parametrize("url", ERROR_REQUESTS)
def test_every_error_of_the_sweep_conforms(client: TestClient, contract: Contract, url: str) -> None:
    response = client.get(url)
    expected = 404 if url.startswith("/claims/") else 200 if "format=csv" in url else 422
    assert response.status_code == expected, (url, response.text[:500])
    assert contract.problems(response) == []


def test_claim_verification_and_its_errors_conform(client: TestClient, contract: Contract) -> None:
    body = examples.VERIFY_EXAMPLE_BODY
    answers = [client.post("/claims/verify", json=body),
               client.post("/claims/verify", json={**body, "definitions": []}),
               client.post("/claims/verify", json={**body, "comparator": {"op": "~"}}),
               client.post("/claims/verify", content=b"{not json",
                           headers={"Content-Type": "application/json"}),
               client.post("/claims/verify", content=b"\xff\xfe{",
                           headers={"Content-Type": "application/json"})]
    assert [r.status_code for r in answers] == [200, 422, 422, 422, 400]
    for response in answers:
        assert contract.problems(response) == []


def test_a_drifting_answer_is_reported(client: TestClient, contract: Contract) -> None:
    """The live check can fail: the same answer with one undeclared key does not conform."""
    response = client.get("/seizures?group_by=drug&fiscal_year=2021")
    assert contract.problems(response) == []
    body = response.json()
    body["meta"]["rows"] = body["meta"]["row_count"]
    forged = type(response)(200, json=body, request=response.request)
    assert len(contract.problems(forged)) == 1


# --- (4) a client generated from the document --------------------------------------------------------

@pytest.fixture(scope="module")
def generated_client(contract: Contract, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """openapi-python-client's package for this API, generated now from /openapi.json."""
    root = tmp_path_factory.mktemp("client")
    spec = root / "openapi.json"
    spec.write_text(json.dumps(contract.openapi), encoding="utf-8")
    config = root / "config.yaml"
    config.write_text("post_hooks: []\n", encoding="utf-8")
    generator = Path(sys.executable).with_name("openapi-python-client")
    done = subprocess.run([str(generator), "generate", "--path", str(spec), "--config", str(config),
                           "--meta", "none", "--output-path", str(root / "borderstats_client")],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module("borderstats_client")
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m.split(".")[0] == "borderstats_client"]:
            del sys.modules[name]


def test_a_generated_client_calls_seizures_and_reads_the_files_figures(
        generated_client: Any, client: TestClient) -> None:
    get_seizures = importlib.import_module("borderstats_client.api.data.get_seizures")
    models = importlib.import_module("borderstats_client.models")
    api = generated_client.Client(base_url=str(client.base_url))
    api.set_httpx_client(client)
    answer = get_seizures.sync_detailed(client=api, drug=["fentanyl"], region=["southwest"],
                                        fiscal_year=["2021"], group_by=["component"])
    assert answer.status_code == 200
    document = answer.parsed
    assert isinstance(document, models.SeizuresDocument)
    rows, _ = h.seizures()
    months = set(h.fiscal_year_months(2021))
    chosen = [r for r in rows if r["drug"] == "fentanyl" and r["region"] == "Southwest Border"
              and r["month"] in months]
    expected = h.aggregate(chosen, [h.field("component")], ["quantity_lbs", "event_count"])
    assert {r.component: (r.quantity_lbs, r.event_count) for r in document.data} == {
        key[0]: (h.lbs(sums["quantity_lbs"]), sums["event_count"]) for key, sums in expected.items()}
    assert document.meta.dataset == "seizures" and document.meta.complete is True
    assert document.meta.filters.fiscal_year == [2021]
    assert document.meta.measures.quantity_lbs.unit == "lb"


def test_a_generated_client_reads_an_error_in_the_one_shape(generated_client: Any,
                                                            client: TestClient) -> None:
    get_seizures = importlib.import_module("borderstats_client.api.data.get_seizures")
    models = importlib.import_module("borderstats_client.models")
    api = generated_client.Client(base_url=str(client.base_url))
    api.set_httpx_client(client)
    answer = get_seizures.sync_detailed(client=api, drug=["fentanil"])
    assert answer.status_code == 422
    assert isinstance(answer.parsed, models.ErrorBody)
    detail = answer.parsed.error
    assert (detail.code, detail.parameter, detail.value, detail.did_you_mean) == (
        "invalid_parameter", "drug", "fentanil", "fentanyl")


def test_a_generated_client_checks_a_claim(generated_client: Any, client: TestClient) -> None:
    get_claim = importlib.import_module("borderstats_client.api.claims.get_claim")
    models = importlib.import_module("borderstats_client.models")
    api = generated_client.Client(base_url=str(client.base_url))
    api.set_httpx_client(client)
    claim = registry().claims[0]
    answer = get_claim.sync_detailed(claim.id, client=api)
    assert answer.status_code == 200 and isinstance(answer.parsed, models.ClaimDocument)
    live = client.get(f"/claims/{claim.id}").json()["data"]
    assert answer.parsed.data.id == claim.id
    assert answer.parsed.data.primary.value == live["primary"]["value"]
