"""Query parameters, declared once as models built from the registry: FastAPI parses and documents
them (list-typed filters take comma lists and repeated parameters alike), unknown names are a 422,
and `resolve()` turns a parsed model into a QuerySpec against the catalog."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model

from app.datasets import DATASETS, Dataset
from app.datasets.time import GRAIN_DESCRIPTIONS
from app.query.parse import resolve_query
from app.query.spec import DEFAULT_LIMIT, MAX_LIMIT, QuerySpec
from app.render.formats import FORMATS

LIST_NOTE = " Comma list or repeated parameter; case-insensitive."


def _whole(low: int, high: int, message: str):
    def check(value: Any) -> int:
        text = str(value).strip()
        if not re.fullmatch(r"\d{1,12}", text) or not low <= int(text) <= high:
            raise ValueError(message)
        return int(text)
    return check


Limit = Annotated[int, BeforeValidator(_whole(1, MAX_LIMIT, f"limit must be a whole number from 1 "
                                                            f"to {MAX_LIMIT:,}"))]
MAX_OFFSET = 10**9
Offset = Annotated[int, BeforeValidator(_whole(0, MAX_OFFSET, f"offset must be a whole number from 0 "
                                                              f"to {MAX_OFFSET:,}"))]
TextList = list[str] | None


class OutputParams(BaseModel):
    # A parameter is read by its documented name only: `from`, not the field's own name `from_`
    # (an unknown parameter, a 422 suggesting `from`).
    model_config = ConfigDict(extra="forbid")

    format: Literal[FORMATS] | None = Field(  # type: ignore[valid-type]
        None, description="Response format: `json` (default), `csv` (RFC 4180 with a header "
        "row; also the header `Accept: text/csv`) or `ndjson` (one JSON row a line). CSV and "
        "NDJSON are for flat rows.")
    bom: bool = Field(False, description="CSV only: start with a UTF-8 byte-order mark so Excel "
                      "opens accented text correctly.")


AS_OF_DESCRIPTION = (
    "Answer as the API did once these releases were loaded: a release id (see `/releases`; "
    "the permalink in `meta` pins the newest) or a past day `YYYY-MM-DD` (the releases loaded by "
    "the end of that day, UTC). For each month the best release of that vintage answers, as the "
    "ingest ranks them; `meta.vintage` names the releases. Such answers never change: they are "
    "sent with `Cache-Control: immutable`. An id not loaded, a day before the first release or "
    "a day not yet over is a 422.")


class VintageParams(OutputParams):
    """Output options plus `as_of`, the vintage of the data to answer from."""

    as_of: str | None = Field(None, description=AS_OF_DESCRIPTION, examples=["3", "2025-06-01"])


TIME_FIELDS: dict[str, dict[str, Any]] = {
    "fiscal_year": {"description": "Federal fiscal year(s): FY N runs 1 October N-1 to 30 "
                    "September N; `2021` or `FY2021`." + LIST_NOTE, "examples": [["2021"]]},
    "calendar_year": {"description": "Calendar year(s)." + LIST_NOTE, "examples": [["2022"]]},
    "month": {"description": "Month(s), YYYY-MM." + LIST_NOTE, "examples": [["2021-10"]]},
    "year": {"description": "Calendar year(s)." + LIST_NOTE, "examples": [["2021"]]},
}
RANGE_HELP = {
    "month": ("First month, YYYY-MM (inclusive).", "Last month, YYYY-MM (inclusive)."),
    "year": ("First year (inclusive).", "Last year (inclusive)."),
}


def time_fields(dataset: Dataset) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name in dataset.time.params:
        if name == "from":
            fields["from_"] = (str | None, Field(None, alias="from",
                                                 description=RANGE_HELP[dataset.time.unit][0]))
        elif name == "to":
            fields["to"] = (str | None, Field(None, description=RANGE_HELP[dataset.time.unit][1]))
        else:
            fields[name] = (TextList, Field(None, **TIME_FIELDS[name]))
    return fields


def dimension_fields(dataset: Dataset, prefix: str = "", role: str = "") -> dict[str, Any]:
    """One list field per dimension name and synonym, described from the registry."""
    fields: dict[str, Any] = {}
    for dim in dataset.dimensions:
        for name in dim.names():
            text = dim.synonym_help.get(name, dim.description)
            if role:
                text = f"{role}: {text}"
            examples = [[dim.example]] if dim.example and name == dim.name else None
            fields[prefix + name] = (TextList, Field(None, description=text + LIST_NOTE,
                                                     examples=examples))
    return fields


def source_field(dataset: Dataset) -> dict[str, Any]:
    if len(dataset.families) <= 1:
        return {}
    keys = ", ".join(f"`{f.key}`" for f in dataset.families)
    return {"source": (str | None, Field(
        None, description=f"Answer from this release family only: {keys}. Default: the first "
        "that carries every requested dimension and value and covers the period (exact CBP "
        "files before the rounded OHSS series)."))}


def _grains(dataset: Dataset) -> str:
    return "; ".join(f"`{g}` ({GRAIN_DESCRIPTIONS[g]})" for g in dataset.time.grains)


class DataParams(VintageParams):
    """Parameters of a data endpoint; `resolve()` checks them against the catalog."""

    dataset_name: ClassVar[str] = ""  # set on each dataset's model

    def filters(self) -> dict[str, list[str]]:
        dataset = DATASETS[self.dataset_name]
        out: dict[str, list[str]] = {}
        for dim in dataset.dimensions:
            for name in dim.names():
                if getattr(self, name) is not None:
                    out[name] = getattr(self, name)
        for name in dataset.time.params:
            value = getattr(self, "from_" if name == "from" else name)
            if value is not None:
                out[name] = value if isinstance(value, list) else [value]
        return out

    def resolve(self, catalog: Any) -> QuerySpec:
        return resolve_query(DATASETS[self.dataset_name], self.filters(), catalog,
                             group_by=self.group_by, sort=self.sort, limit=self.limit,
                             offset=self.offset, family=getattr(self, "source", None))


def data_model(dataset: Dataset) -> type[DataParams]:
    """The query model of a dataset's endpoint."""
    name = dataset.model_name + "Params"
    dims = ", ".join(n for d in dataset.dimensions for n in d.names())
    fields: dict[str, Any] = {
        **dimension_fields(dataset),
        **time_fields(dataset),
        **source_field(dataset),
        "group_by": (TextList, Field(None, description=f"Dimensions ({dims}) and at most one time "
                                     f"grain: {_grains(dataset)}. Without group_by: one total "
                                     "row." + LIST_NOTE, examples=[["area", "fiscal_year"]])),
        "sort": (TextList, Field(None, description="group_by keys or measures; `-` for "
                                 "descending, e.g. `-quantity_lbs,area`. Default: by period, then "
                                 "the keys." + LIST_NOTE)),
        "limit": (Limit, Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT,
                               description=f"Rows per page (1 to {MAX_LIMIT:,}). A CSV or NDJSON "
                               "download without limit holds every row.")),
        "offset": (Offset, Field(0, ge=0, le=MAX_OFFSET, description="Rows to skip; `meta.next` "
                                 "links to the next page.")),
    }
    model = create_model(name, __base__=DataParams, **fields)
    model.dataset_name = dataset.name
    return model


DATA_MODELS: dict[str, type[DataParams]] = {name: data_model(ds) for name, ds in DATASETS.items()}
