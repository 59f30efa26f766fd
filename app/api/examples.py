"""OpenAPI examples: one real request and response per endpoint, recorded from this API.

examples.json is documentation, written by `record()` (see README: "Refresh the OpenAPI examples")
against a database holding every file of ../shared/data; the API never serves figures from it,
and a test checks that the recorded figures still match the live answers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.render.formats import NDJSON_MEDIA

EXAMPLES_PATH = Path(__file__).with_name("examples.json")

# One example request per endpoint (GET unless a body is given).
EXAMPLE_REQUESTS: dict[str, str] = {
    "/seizures": "/seizures?drug=fentanyl&fiscal_year=2021&region=southwest&group_by=component",
    "/encounters": "/encounters?region=southwest&fiscal_year=2022&group_by=state",
    "/overdose-deaths": "/overdose-deaths?year=2020,2021&group_by=year",
    "/drugs": "/drugs",
    "/areas": "/areas?state=AZ",
    "/releases": "/releases?dataset=overdose_deaths",
    "/datasets": "/datasets",
    "/seizure-events": "/seizure-events?state=AZ",
    "/comparisons": "/comparisons",
    "/comparisons/seizure-share": "/comparisons/seizure-share?drug=fentanyl&fiscal_year=2021"
    "&part_area=san-diego-field-office,tucson-field-office&base=southwest-ofo",
    "/comparisons/encounter-share": "/comparisons/encounter-share?region=southwest"
    "&fiscal_year=2021&part_state=CA,AZ",
    "/comparisons/seizures-vs-encounters": "/comparisons/seizures-vs-encounters?drug=fentanyl"
    "&fiscal_year=2021&groups=CA,AZ%3BNM,TX",
    "/comparisons/ports-vs-between": "/comparisons/ports-vs-between?drug=fentanyl"
    "&region=southwest&fiscal_year=2021",
    "/comparisons/change": "/comparisons/change?dataset=overdose_deaths&before=2020&after=2021",
    "/claims": "/claims",
    "/claims/{claim_id}": "/claims/fentanyl-caaz-port-share",
    "/claims/verify": "/claims/verify",
    "/revisions": "/revisions?dataset=encounters&month=2022-03&citizenship=mexico"
    "&demographic=single%20adults",
}
VERIFY_EXAMPLE_BODY: dict[str, Any] = {
    "claim": "Most fentanyl seized at the southwest border in FY2022 was seized at ports of entry.",
    "comparator": {"op": ">", "value": 0.5, "unit": "share", "precision": 0.01},
    "definitions": [{
        "id": "sw-ports", "label": "Southwest Border OFO / all Southwest Border, lbs, FY2022",
        "kind": "share", "dataset": "seizures", "measure": "quantity_lbs",
        "filters": {"drug": "fentanyl", "fiscal_year": "2022"},
        "part": {"component": "ofo"}, "base": {"region": "southwest"},
    }],
}
CSV_EXAMPLE_PATHS = ("/seizures", "/encounters", "/overdose-deaths", "/drugs", "/areas",
                     "/releases", "/seizure-events", "/comparisons/seizure-share",
                     "/comparisons/encounter-share", "/comparisons/seizures-vs-encounters",
                     "/comparisons/ports-vs-between", "/comparisons/change", "/revisions")


DATA_PATHS = ("/seizures", "/encounters", "/overdose-deaths")


def _recorded() -> dict[str, Any]:
    if EXAMPLES_PATH.exists():
        return json.loads(EXAMPLES_PATH.read_text(encoding="utf-8"))
    return {}


_RECORDED = _recorded()


def example_responses(path: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses of one endpoint, with its recorded example."""
    recorded = _RECORDED.get(path, {})
    request = EXAMPLE_REQUESTS[path]
    content: dict[str, Any] = {"application/json": _example(recorded, "json")}
    if path in CSV_EXAMPLE_PATHS:
        # `format=csv|ndjson` (or the Accept header) switch the media type; both are documented.
        content["text/csv"] = {"schema": {"type": "string"}}
        content[NDJSON_MEDIA] = {"schema": {"type": "string"}}
        for media, key in (("text/csv", "csv"), (NDJSON_MEDIA, "ndjson")):
            if key in recorded:
                content[media]["example"] = recorded[key]
    method = "POST" if path == "/claims/verify" else "GET"
    responses: dict[int | str, dict[str, Any]] = {
        200: {"description": f"Example: `{method} {request}`.", "content": content},
        422: {"description": "A parameter (or a field of the body) is wrong: the error names it, "
              "the bad value and the accepted values.",
              "content": {"application/json": _example(recorded, "error_422")}},
    }
    if method == "GET":
        responses[304] = {"description": "Not modified: the `If-None-Match` ETag still matches."}
    if path in DATA_PATHS:
        responses[503] = {"description": "The database is unreachable; retry shortly."}
    if path == "/claims/{claim_id}":
        responses[404] = {"description": "Unknown claim id; the body lists the valid ids.",
                          "content": {"application/json": _example(recorded, "error_404")}}
    return responses


def _example(recorded: dict[str, Any], key: str) -> dict[str, Any]:
    """The recorded answer as an OpenAPI example (none where none was recorded)."""
    return {"example": recorded[key]} if key in recorded else {}


ERROR_REQUESTS: dict[str, str] = {
    "/seizures": "/seizures?drug=fentanil",
    "/encounters": "/encounters?group_by=area",
    "/overdose-deaths": "/overdose-deaths?state=AZ&category=heroin",
    "/areas": "/areas?state=XX",
    "/seizure-events": "/seizure-events?from=2022-13-01",
    "/comparisons/seizure-share": "/comparisons/seizure-share?drug=fentanyl&fiscal_year=2021"
    "&part_area=san-diego&base=southwest",
    "/comparisons/encounter-share": "/comparisons/encounter-share?fiscal_year=2021&part_state=CX",
    "/comparisons/seizures-vs-encounters": "/comparisons/seizures-vs-encounters?groups=CA,AZ",
    "/comparisons/ports-vs-between": "/comparisons/ports-vs-between?drug=fentanil",
    "/comparisons/change": "/comparisons/change?dataset=overdose_deaths&before=FY2020&after=2021",
    "/claims/{claim_id}": "/claims/no-such-claim",
    "/revisions": "/revisions?dataset=seizures&release=x",
}


def record(client: Any) -> dict[str, Any]:
    """Run every example request with a TestClient and write examples.json."""
    out: dict[str, Any] = {}
    for path, request in EXAMPLE_REQUESTS.items():
        if path == "/claims/verify":
            response = client.post(request, json=VERIFY_EXAMPLE_BODY)
            bad = {**VERIFY_EXAMPLE_BODY, "definitions": [
                {**VERIFY_EXAMPLE_BODY["definitions"][0], "filters": {"drug": "fentanil"}}]}
            out[path] = {"request": request, "body": VERIFY_EXAMPLE_BODY, "json": response.json(),
                         "error_422": client.post(request, json=bad).json()}
            continue
        entry = {"request": request, "json": client.get(request).json()}
        if path in CSV_EXAMPLE_PATHS:
            joiner = "&" if "?" in request else "?"
            entry["csv"] = client.get(request + joiner + "format=csv").text
            entry["ndjson"] = client.get(request + joiner + "format=ndjson").text
        if path in ERROR_REQUESTS:
            key = "error_404" if path == "/claims/{claim_id}" else "error_422"
            entry[key] = client.get(ERROR_REQUESTS[path]).json()
        out[path] = entry
    EXAMPLES_PATH.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return out
