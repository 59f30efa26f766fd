"""The OpenAPI document: FastAPI's, with every error status documented and the examples exactly
as the routes give them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from app.api.error_docs import add_error_responses


def restore_examples(schema: dict[str, Any], routers: list[APIRouter]) -> None:
    """Put back the examples' nulls: FastAPI writes the document without None values, which
    drops `"next": null` and every other null from a recorded answer."""
    for route in (r for router in routers for r in router.routes):
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        for method in route.methods:
            operation = schema["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            for status, response in route.responses.items():
                for media, content in response.get("content", {}).items():
                    if "example" in content:
                        documented = operation["responses"][str(status)]["content"][media]
                        documented["example"] = content["example"]


def finish_openapi(app: FastAPI, routers: list[APIRouter]) -> None:
    """Make app.openapi() document every error status and keep the examples of `routers`' routes
    as recorded."""
    generate = app.openapi
    finished: list[int] = []

    def openapi() -> dict[str, Any]:
        schema = generate()  # FastAPI's, cached until its routes change
        if id(schema) not in finished:
            add_error_responses(schema)
            restore_examples(schema, routers)
            finished[:] = [id(schema)]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
