"""OpenAPI examples: real responses of this API on the official files in ../shared/data.

examples.json is documentation, written by running the requests it lists against a database
holding every file of ../shared/data (see the README); the API never serves figures from it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_RECORDED = json.loads((Path(__file__).with_name("examples.json")).read_text(encoding="utf-8"))

ERROR_422 = {
    "error": {
        "code": "invalid_parameter",
        "message": "unknown drug 'fentanil'",
        "parameter": "drug",
        "value": "fentanil",
        "accepted": ["cocaine", "ecstasy", "fentanyl", "heroin", "ketamine", "khat", "lsd",
                     "marijuana", "methamphetamine", "other-drugs"],
        "did_you_mean": "fentanyl",
    }
}



def example_request(name: str) -> str:
    return _RECORDED[name]["request"]


def data_responses(name: str) -> dict[int | str, dict[str, Any]]:
    """Responses of a data endpoint, with the recorded example (`name` as in examples.json)."""
    recorded = _RECORDED[name]
    return {
        200: {
            "description": f"Rows and metadata (example: `GET {recorded['request']}`); or CSV with "
            "`format=csv` / `Accept: text/csv`.",
            "content": {
                "application/json": {"example": recorded["json"]},
                "text/csv": {"schema": {"type": "string"}, "example": recorded["csv"]},
            },
        },
        304: {"description": "Not modified: the `If-None-Match` ETag still matches."},
        422: {"description": "A parameter is wrong: the body names it, the bad value and the "
              "accepted values.", "content": {"application/json": {"example": ERROR_422}}},
        503: {"description": "The database is unreachable; retry later."},
    }


def reference_responses(name: str) -> dict:
    return {
        200: {"description": f"The {name} listing; CSV with `format=csv`."},
        304: {"description": "Not modified: the `If-None-Match` ETag still matches."},
        422: {"description": "An unknown parameter or value.",
              "content": {"application/json": {"example": ERROR_422}}},
    }
