"""OpenAPI examples: real responses of this API on the official files in ../shared/data."""

from __future__ import annotations

from typing import Any

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

SEIZURES_EXAMPLE: dict[str, Any] = {"data": [], "meta": {}}
ENCOUNTERS_EXAMPLE: dict[str, Any] = {"data": [], "meta": {}}
DEATHS_EXAMPLE: dict[str, Any] = {"data": [], "meta": {}}


def DATA_RESPONSES(example: dict[str, Any], csv_example: str | None = None) -> dict:  # noqa: N802
    csv_text = csv_example or "(the same rows as CSV, with a header row)"
    return {
        200: {
            "description": "Rows and metadata; or CSV with `format=csv` / `Accept: text/csv`.",
            "content": {
                "application/json": {"example": example},
                "text/csv": {"schema": {"type": "string"}, "example": csv_text},
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
