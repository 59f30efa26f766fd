"""Parts every response shares: how a release is cited, coverage and periods, a figure, an error.

These models are the contract /openapi.json publishes; the API does not serialize through them (a
handler returns bytes written by app/render), and tests/test_contract.py checks that what it
writes matches them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


def _no_defaults(schema: dict[str, Any]) -> None:
    # A response has no defaults: a key is there or not (and `null` where the API says so).
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)


class Strict(BaseModel):
    """A response object: every key it can have is declared, and no other may appear."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_no_defaults)


DATA_VERSION = ("The data version the figures were read from: it moves with every ingest that "
                "changes data, and the ETag follows it.")
NO_DATA = " Null when the loaded releases hold no figure for it (no data, never a zero)."


class ReleaseSummary(Strict):
    """An official file loaded as a release, as every response cites it."""

    id: int = Field(description="Release id (see GET /releases).")
    source: str = Field(description="The release family (format) it belongs to, e.g. "
                        "`cbp-seizures`.")
    title: str = Field(description="The publication's title.")
    publisher: str = Field(description="The agency that publishes it.")
    file_name: str = Field(description="The file as published.")
    sha256: str = Field(description="SHA-256 of the file's bytes, hex.", pattern=r"^[0-9a-f]{64}$")
    period_start: str = Field(description="First period it covers: `YYYY-MM` (monthly) or `YYYY` "
                              "(annual).")
    period_end: str = Field(description="Last period it covers, written the same way.")
    loaded_at: str | None = Field(description="When it was loaded (ISO 8601, UTC).")
    origin_url: str | None = Field(description="Where the agency publishes it.")


class ReleaseRef(Strict):
    """A release behind one figure: its id and file."""

    id: int = Field(description="Release id (see GET /releases).")
    file_name: str = Field(description="The file as published.")


class MonthCoverage(Strict):
    """The months the answering release family covers."""

    first_month: str = Field(description="First month, YYYY-MM.", pattern=r"^\d{4}-\d{2}$")
    last_month: str = Field(description="Last month, YYYY-MM.", pattern=r"^\d{4}-\d{2}$")


class YearCoverage(Strict):
    """The years the loaded releases cover."""

    first_year: int = Field(description="First year.")
    last_year: int = Field(description="Last year.")


class MonthsSummed(MonthCoverage):
    """The months whose figures are added up: the request's, as far as the data go."""

    months: int = Field(description="How many months are added up (months in the span that "
                        "the data hold).", ge=0)


class YearsSummed(YearCoverage):
    """The years whose figures are added up: the request's, as far as the data go."""

    years: int = Field(description="How many years are added up.", ge=0)


Summed = MonthsSummed | YearsSummed
FilterValue = list[str | int] | str | int


class MeasureInfo(Strict):
    """What a measure is: its unit and definition."""

    unit: str = Field(description="Unit of the figures, e.g. `lb`, `events`, `encounters`, "
                      "`deaths`, `per 100,000`.")
    description: str = Field(description="How the figure is computed from the source.")


class FigureDocument(Strict):
    """One aggregated number, the request that reproduces it and the releases behind it."""

    value: float | None = Field(description="The figure, in the unit of the measure." + NO_DATA)
    request: str = Field(description="The data endpoint request (path and query) that answers "
                         "this figure as its total.")
    filters: dict[str, FilterValue] = Field(description="The filters as understood: values as "
                                            "users read them, the period, the defaults taken.")
    source: str | None = Field(description="The release family that answered (null: none of "
                               "the dataset is loaded).")
    releases: list[ReleaseRef] = Field(description="Releases whose rows the figure adds up.")
    complete: bool = Field(description="Whether the data cover every requested period.")
    period: Summed | None = Field(description="The months (years) actually added up; null when "
                                  "none.")
    note: str | None = Field(description="Why the value is null or what to beware of; null "
                             "when nothing.")


class VintageInfo(Strict):
    """The vintage an answer was computed from (`as_of`): the releases loaded by then."""

    as_of: str = Field(description="The `as_of` asked, normalised: a release id or a day "
                       "YYYY-MM-DD.")
    release_id: int = Field(description="The newest release of the vintage.")
    release_ids: list[int] = Field(description="Every release loaded by then (ids follow load "
                                   "order).")


class Versioned(Strict):
    """Which data an answer comes from, and the request that gives the same answer later."""

    data_version: int | None = Field(description=DATA_VERSION + " Null under `as_of`: a vintage "
                                     "does not depend on it.")
    vintage: VintageInfo | None = Field(description="The vintage asked with `as_of`; null for "
                                        "the current data.")
    permalink: str | None = Field(description="This request pinned to its vintage (with `as_of` "
                                  "set to the newest release loaded): it gives the same answer "
                                  "later. Null while nothing is loaded.")


class Provenance(Versioned):
    """Where a comparison's figures come from: families, releases, caveats, data version."""

    sources: list[str] = Field(description="Release families that answered the figures.")
    complete: bool | None = Field(description="True when every figure covers its whole period, "
                                  "false when one does not, null when no figure says.")
    releases: list[ReleaseSummary] = Field(description="Every release behind any figure, once.")
    caveats: list[str] = Field(description="What to beware of when reading the figures.")


# --- errors ---------------------------------------------------------------------------------------

class OtherError(Strict):
    """A further problem with the same request."""

    parameter: str = Field(description="The parameter or body field at fault.")
    message: str | None = Field(description="What was wrong with it.")


class PortOfEntry(Strict):
    """A port of entry given where an area is wanted, and the field office that counts it."""

    name: str
    slug: str
    field_office: str | None = Field(description="The field office's slug (null: none the data "
                                     "name).")


class ErrorDetail(Strict):
    """What went wrong, what was received and what is accepted."""

    code: str = Field(description="Stable machine-readable code, e.g. `invalid_parameter`, "
                      "`unsupported_combination`, `not_found`, `method_not_allowed`, "
                      "`rate_limited`, `service_unavailable`.")
    message: str = Field(description="What was wrong and what is accepted, in words.")
    parameter: str | None = Field(None, description="The parameter or body field at fault.")
    value: Any = Field(None, description="The value received (long values are shortened).")
    accepted: list[Any] | None = Field(None, description="Values or names that are accepted.")
    did_you_mean: str | None = Field(None, description="The accepted spelling nearest the value.")
    other_errors: list[OtherError] | None = Field(None, description="Further problems with the "
                                                  "request, after the first.")
    more_errors: int | None = Field(None, description="How many further problems are not listed.")
    requested: list[str] | None = Field(None, description="unsupported_combination: the "
                                        "dimensions the request uses together.")
    reasons: dict[str, str | None] | None = Field(None, description="unsupported_combination: "
                                                  "why each loaded release family cannot answer.")
    combinable: dict[str, dict[str, list[str]]] | None = Field(
        None, description="unsupported_combination: per release family, the dimensions it "
        "carries (`dimensions`) and the values it is limited to (`only_region`, ...).")
    carried_by: list[str] | None = Field(None, description="unsupported_combination: the "
                                         "release families that publish the value.")
    source: str | None = Field(None, description="The release family concerned.")
    port_of_entry: PortOfEntry | None = Field(None, description="A port of entry given as an "
                                              "area: CBP publishes no figure per port.")
    method: str | None = Field(None, description="method_not_allowed: the method used.")
    path: str | None = Field(None, description="not_found, method_not_allowed: the path asked.")
    max_bytes: int | None = Field(None, description="413: the largest body accepted, in bytes.")
    received_bytes: int | None = Field(None, description="408: the bytes received in time.")
    retry_after_seconds: int | None = Field(None, description="For 429 and 503: when to retry.")


class ErrorBody(Strict):
    """Every error this API returns: `{"error": {"code", "message", ...}}`."""

    error: ErrorDetail
