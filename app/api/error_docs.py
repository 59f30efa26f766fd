"""The one error shape as an OpenAPI schema, and every error status each operation can return.

The statuses are added to the generated document rather than to each route, so an operation added
or moved later is documented the same way without anyone remembering to.
"""

from __future__ import annotations

from typing import Any

from app.api.schemas.common import ErrorBody

ERROR_SCHEMA = "Error"
_REF = {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying.",
                                "schema": {"type": "integer"}}}
# Routes that never reach the database, nor get a 503 from the request deadline.
NO_DATABASE = frozenset({("get", "/healthz")})
# Exempt from rate limiting (so an orchestrator is never throttled).
NO_RATE_LIMIT = frozenset({("get", "/healthz"), ("get", "/readyz")})


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description,
                                "content": {"application/json": {"schema": _REF}}}
    if headers:
        response["headers"] = headers
    return response


def error_responses(method: str, path: str, operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The error statuses `method path` can answer, beyond those its route documents itself."""
    key = (method, path)
    has_input = bool(operation.get("parameters") or operation.get("requestBody"))
    out: dict[str, dict[str, Any]] = {
        "408": _error("The request body did not arrive in full within BORDERSTATS_BODY_TIMEOUT."),
        "413": _error("The request body is larger than BORDERSTATS_MAX_BODY_BYTES."),
    }
    if operation.get("requestBody"):
        out["400"] = _error("The body could not be read as UTF-8 JSON.")
    if has_input:
        out["422"] = _error("A parameter or a field of the body is wrong: the error names it, the "
                            "bad value and the accepted values.")
    if any(p.get("in") == "path" for p in operation.get("parameters", ())):
        out["404"] = _error("No such item; the error lists the valid ones.")
    if key not in NO_RATE_LIMIT:
        out["429"] = _error("Too many requests from this client (BORDERSTATS_RATE_LIMIT).",
                            _RETRY_AFTER)
    if key not in NO_DATABASE:
        out["503"] = _error("The database is unreachable or did not answer in time, or the "
                            "server was too busy to take the request within its deadline; retry "
                            "after the Retry-After seconds.", _RETRY_AFTER)
    return out


def add_error_responses(schema: dict[str, Any]) -> None:
    """Document every error status of every operation in `schema`, all with the one schema."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    model = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(model.pop("$defs", {}))
    components[ERROR_SCHEMA] = model
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            added = error_responses(method, path, operation)
            for status, response in added.items():
                responses.setdefault(status, response)
            for status, existing in responses.items():
                if not status.startswith(("4", "5")) or (path, status) == ("/readyz", "503"):
                    continue  # the readiness 503 is its own body, documented by the route
                content = existing.setdefault("content", {}).setdefault("application/json", {})
                content["schema"] = _REF
                if "headers" in added.get(status, {}):
                    existing.setdefault("headers", added[status]["headers"])
    paths = str(schema.get("paths"))
    for unused in ("HTTPValidationError", "ValidationError"):  # FastAPI's shape, never sent
        if f"/{unused}'" not in paths:
            components.pop(unused, None)
