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


# The finished documents of this process, by what they are made of (see _made_of): every app
# create_app makes has the same, and building one takes ~0.25 s. Read-only once made.
_DOCUMENTS: dict[tuple, dict[str, Any]] = {}


def _routes_made_of(routes: Any) -> tuple:
    """What routes put into the document: each documented route (path, methods, handler,
    name), and each included router (FastAPI wraps one in a route of its own, holding the router
    and how it was included) by its inclusion and its own routes, recursively. Read on every
    call: a route added later changes it."""
    out: list[tuple] = []
    for route in routes:
        router = getattr(route, "original_router", None)
        if router is not None:
            how = route.include_context
            out.append(("router", how.prefix, tuple(how.tags or ()), how.include_in_schema,
                        how.deprecated, tuple(map(str, how.responses or {})),
                        tuple(map(id, how.dependencies or ())), id(how.generate_unique_id_function),
                        _routes_made_of(router.routes)))
        elif getattr(route, "include_in_schema", True):
            out.append((getattr(route, "path", None),
                        tuple(sorted(getattr(route, "methods", None) or ())),
                        id(getattr(route, "endpoint", None)), getattr(route, "name", None)))
    return tuple(out)


def _made_of(app: FastAPI, routers: list[APIRouter]) -> tuple:
    """What an app's document is made of: its metadata (servers included: FastAPI adds a proxy's
    root_path there), its routes and webhooks, and the routers whose examples it restores. No
    setting of ours enters the document."""
    return (app.title, app.version, app.summary, app.description, repr(app.openapi_tags),
            repr(app.servers), app.root_path, app.openapi_version, repr(app.contact),
            repr(app.license_info), app.terms_of_service, repr(app.openapi_external_docs),
            app.separate_input_output_schemas, tuple(map(id, routers)),
            _routes_made_of(app.routes), _routes_made_of(app.webhooks.routes))


def finish_openapi(app: FastAPI, routers: list[APIRouter]) -> None:
    """Make app.openapi() document every error status and keep the examples of `routers`' routes
    as recorded; made once a process for apps made of the same (_made_of)."""
    generate = app.openapi
    made_of: list[tuple] = []  # what app.openapi_schema was made of

    def openapi() -> dict[str, Any]:
        key = _made_of(app, routers)
        if app.openapi_schema is None or made_of != [key]:
            schema = _DOCUMENTS.get(key)
            if schema is None:
                app.openapi_schema = None
                schema = generate()  # FastAPI's; it keeps it in app.openapi_schema
                add_error_responses(schema)
                restore_examples(schema, routers)
                _DOCUMENTS[key] = schema
            app.openapi_schema = schema
            made_of[:] = [key]
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
