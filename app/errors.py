"""Status-coded errors with one JSON shape: {"error": {"code", "message", ...}}."""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from typing import Any

ECHO_CHARS = 200  # a submitted value is echoed back up to this many characters
MAX_LISTED_ERRORS = 20  # further validation errors are counted, not listed


def echo(value: Any) -> Any:
    """A submitted value as it can be echoed in an error: finite and short."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, str) and len(value) > ECHO_CHARS:
        return f"{value[:ECHO_CHARS]}… ({len(value)} characters)"
    return value


class ApiError(Exception):
    """An error the API reports as JSON with an HTTP status."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, **details: Any):
        if len(message) > 4 * ECHO_CHARS:  # a message quoting a huge submitted value
            message = f"{message[:4 * ECHO_CHARS]}… ({len(message)} characters)"
        super().__init__(message)
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, **self.details}}


class InvalidParameter(ApiError):
    """A query parameter has a value the API does not accept (HTTP 422)."""

    status_code = 422
    code = "invalid_parameter"

    def __init__(self, parameter: str, value: Any, message: str,
                 accepted: Iterable[str] | None = None, *, suggest_from: Iterable[str] | None = None,
                 suggest_for: str | None = None):
        """`suggest_for`: the text to find a close match for (default: the value); an unknown
        parameter passes its own name, so `fiscal_yaer` suggests `fiscal_year`."""
        if isinstance(value, str) and len(value) > ECHO_CHARS:
            message = message.replace(value, echo(value))
        value = echo(value)
        parameter = echo(parameter)
        details: dict[str, Any] = {"parameter": parameter, "value": value}
        accepted_list = list(accepted) if accepted is not None else None
        if accepted_list is not None:
            details["accepted"] = accepted_list
        pool = list(suggest_from) if suggest_from is not None else accepted_list
        wrong = echo(suggest_for) if suggest_for is not None else value
        if pool and isinstance(wrong, str):
            suggestion = closest(wrong, pool)
            if suggestion is not None:
                details["did_you_mean"] = suggestion
        super().__init__(message, **details)


def closest(text: str, pool: Iterable[str]) -> str | None:
    """The spelling in `pool` nearest to `text` (case-insensitive), if any is close."""
    pool = list(pool)
    close = difflib.get_close_matches(text.lower(), [p.lower() for p in pool], n=1, cutoff=0.6)
    return next(p for p in pool if p.lower() == close[0]) if close else None


class UnsupportedCombination(ApiError):
    """No loaded release carries the requested dimensions together (HTTP 422)."""

    status_code = 422
    code = "unsupported_combination"


class NotFound(ApiError):
    status_code = 404
    code = "not_found"


class MethodNotAllowed(ApiError):
    status_code = 405
    code = "method_not_allowed"


class ServiceUnavailable(ApiError):
    status_code = 503
    code = "service_unavailable"


def location(loc: Any) -> str:
    """("body", "definitions", 0, "measure") -> "definitions[0].measure"."""
    text = ""
    for part in loc:
        if part in ("query", "body", "path", "header"):
            continue
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "request"


def from_validation(errors: list[dict[str, Any]], *, known_parameters: Iterable[str] | None = None,
                    path: str = "") -> InvalidParameter:
    """pydantic/FastAPI validation errors as the project's one 422 shape (the first error, the
    others listed): an unknown parameter lists the known ones."""
    # An unknown parameter first: it is most often the misspelling of a missing or wrong one.
    errors = sorted(errors, key=lambda e: e.get("type") != "extra_forbidden")
    first = errors[0]
    parameter = location(first.get("loc", ()))
    value = first.get("input")
    if not isinstance(value, str | int | float | bool | type(None)):
        value = None
    accepted = None
    suggest_for = None
    if first.get("type") == "extra_forbidden":
        accepted = sorted(known_parameters) if known_parameters is not None else None
        message = f"unknown parameter {parameter!r}" + (f" for {path}" if path else "")
        suggest_for = parameter
    else:
        text = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
        # A rule already worded for the parameter ("limit must be ...") is kept as it is.
        message = text if text.startswith(f"{parameter} ") else f"{parameter}: {text}"
        expected = (first.get("ctx") or {}).get("expected")
        if expected:
            accepted = [v.strip(" '") for v in str(expected).replace(" or ", ",").split(",")
                        if v.strip(" '")]
    error = InvalidParameter(parameter, value, message, accepted, suggest_for=suggest_for)
    if len(errors) > 1:
        error.details["other_errors"] = [
            {"parameter": echo(location(e.get("loc", ()))), "message": echo(e.get("msg"))}
            for e in errors[1:MAX_LISTED_ERRORS + 1]]
        if len(errors) > MAX_LISTED_ERRORS + 1:
            error.details["more_errors"] = len(errors) - MAX_LISTED_ERRORS - 1
    return error
