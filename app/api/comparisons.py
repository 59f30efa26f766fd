"""GET /comparisons and its five kinds: ratios computed from the data, JSON or CSV."""

from __future__ import annotations

import copy
import typing
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.fields import FieldInfo

from app import compare, compare_params
from app.api import comparison_documents as documents
from app.api.examples import example_responses
from app.api.query_models import (
    DeathParams,
    EncounterParams,
    MonthlyParams,
    OutputParams,
    SeizureParams,
)
from app.api.respond import Document, cached_json
from app.catalog import Catalog
from app.datasets import DATASETS

router = APIRouter(tags=["comparisons"])

PERIOD_FIELDS = ("fiscal_year", "calendar_year", "month", "from_", "to")
SEIZURE_DIMS = ("drug", "area", "port", "sector", "state", "component", "region", "land_filter")
ENCOUNTER_DIMS = ("area", "sector", "state", "component", "region", "demographic", "citizenship",
                  "title_of_authority", "encounter_type")
DEATH_DIMS = ("state", "category", "sex")
BASE_HELP = ("Named base, added to the common filters: `southwest` (Southwest Border), "
             "`southwest-ofo` / `southwest-usbp` (its ports of entry / Border Patrol), `ofo` / "
             "`usbp` (a component nationwide), `nationwide` (no extra filter: the default). "
             "Combine with `base_*` filters on other dimensions.")
PART_NOTE = ("The part is counted within the base: numerator = common + base + part filters; "
             "denominator = common + base filters. ")


class ComparisonParams(OutputParams):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _info(model: type[BaseModel], name: str) -> FieldInfo:
    # /seizures declares no `sector` parameter of its own (it is a synonym of `area`).
    return (model.model_fields.get(name) or EncounterParams.model_fields[name])


def _copied(model: type[BaseModel], names: tuple[str, ...]) -> dict[str, Any]:
    return {n: (_info(model, n).annotation, copy.copy(_info(model, n))) for n in names}


def _layer(model: type[BaseModel], names: tuple[str, ...], prefix: str, role: str) -> dict:
    fields = {}
    for name in names:
        info = _info(model, name)
        fields[f"{prefix}{name}"] = (str | None, Field(None, description=f"{role}: "
                                                       f"{info.description}",
                                                       examples=info.examples))
    return fields


def _share_model(name: str, model: type[BaseModel], dims: tuple[str, ...],
                 measures: tuple[str, ...], extra: dict | None = None) -> type[BaseModel]:
    fields: dict[str, Any] = {
        "measure": (Literal[measures], Field(measures[0], description="What to add up.")),
        "base": (Literal[tuple(compare_params.BASES)] | None, Field(None, description=BASE_HELP)),
        **_copied(MonthlyParams, PERIOD_FIELDS),
        **_copied(model, dims),
        **_layer(model, dims, "part_", "Part only (numerator)"),
        **_layer(model, dims, "base_", "Base only (denominator)"),
        **(extra or {}),
    }
    for n in dims:
        fields[n][1].description = f"Common to part and base: {fields[n][1].description}"
    return create_model(name, __base__=ComparisonParams, **fields)


SeizureShareParams = _share_model("SeizureShareParams", SeizureParams, SEIZURE_DIMS,
                                  ("quantity_lbs", "event_count", "quantity_kg"))
EncounterShareParams = _share_model(
    "EncounterShareParams", EncounterParams, ENCOUNTER_DIMS, ("encounter_count",),
    {"source": (str | None, copy.copy(EncounterParams.model_fields["source"]))})

SeizuresVsEncountersParams = create_model(
    "SeizuresVsEncountersParams", __base__=ComparisonParams,
    groups=(str, Field(description="Groups of states: states of a group joined by `,`, groups "
                       "separated by `;` (URL-encoded `%3B`), e.g. `CA,AZ;NM,TX`. A seizure "
                       "counts in a group when its area of responsibility covers one of the "
                       f"group's states. At most {compare_params.MAX_GROUPS} groups.",
                       examples=["CA,AZ;NM,TX"])),
    measure=(Literal["quantity_lbs", "event_count", "quantity_kg"],
             Field("quantity_lbs", description="Seizure measure.")),
    drug=(str | None, copy.copy(SeizureParams.model_fields["drug"])),
    seizure_component=(str | None, Field(None, description="Seizures of one component only: "
                                         "`ofo` (ports of entry) or `usbp`; the encounters "
                                         "by-state release has no component.")),
    **_copied(MonthlyParams, PERIOD_FIELDS),
)

PortsVsBetweenParams = create_model(
    "PortsVsBetweenParams", __base__=ComparisonParams,
    measure=(Literal["quantity_lbs", "event_count", "quantity_kg"],
             Field("quantity_lbs", description="What to add up.")),
    **_copied(SeizureParams, ("drug", "region", "state", "land_filter")),
    **_copied(MonthlyParams, PERIOD_FIELDS),
)

_CHANGE_FILTERS = {**_copied(DeathParams, DEATH_DIMS), **_copied(EncounterParams, ENCOUNTER_DIMS),
                   **_copied(SeizureParams, SEIZURE_DIMS),
                   "source": (str | None, copy.copy(EncounterParams.model_fields["source"]))}
for _annotation, _field in _CHANGE_FILTERS.values():
    _field.description = f"Filter, as on the dataset's own endpoint: {_field.description}"
ChangeParams = create_model(
    "ChangeParams", __base__=ComparisonParams,
    dataset=(Literal["seizures", "encounters", "overdose_deaths"],
             Field(description="The dataset.", examples=["overdose_deaths"])),
    measure=(str | None, Field(None, description="A measure of the dataset (default: "
                               "quantity_lbs, encounter_count, deaths).", examples=["deaths"])),
    before=(str, Field(description="The earlier period: `FY2021` (fiscal year), `2021` "
                       "(calendar year; the year for overdose deaths), `2021-10` (a month), "
                       "`2021-10..2022-04` (months, inclusive), `2019..2021` (years).",
                       examples=["2020"])),
    after=(str, Field(description="The later period, written the same way.", examples=["2021"])),
    like_for_like=(bool, Field(True, description="When either period is only partly in the data "
                               "(the running fiscal year), compare the same months of each "
                               "period (e.g. October-December of FY2025 and of FY2026); the "
                               "row's `months_compared` lists them. `false`: the raw totals, "
                               "with a warning in the row's `note`.")),
    **_CHANGE_FILTERS,
)

KINDS: list[tuple[str, str, type[BaseModel]]] = []


def _kind(path: str, summary: str, model: type[BaseModel]) -> dict[str, Any]:
    KINDS.append((path, summary, model))
    return {"path": path, "summary": summary, "responses": example_responses(path)}


class NoParams(ComparisonParams):
    pass


@router.get("/comparisons", summary="Comparison kinds and their parameters",
            responses=example_responses("/comparisons"))
async def list_comparisons(request: Request, params: Annotated[NoParams, Query()]) -> Response:
    """List every comparison with its parameters: name, required, description, accepted values,
    example."""

    async def build(catalog: Catalog, _params: dict[str, str]):
        rows = [_describe(path, summary, model) for path, summary, model in KINDS]
        return Document(rows, {"row_count": len(rows), "share_rule": compare.SHARE_RULE}, None)

    return await cached_json(request, build)


@router.get(**_kind("/comparisons/seizure-share", "A drug's seizures in a part as a share of a "
                    "base", SeizureShareParams))
async def seizure_share(request: Request,
                        params: Annotated[SeizureShareParams, Query()]) -> Response:
    """Seizures (pounds or events) in a set of areas, states or components as a share of a base
    (Southwest Border, a component, nationwide), with one row per member of the part."""
    return await _share_response(request, "seizures", "seizure-share")


@router.get(**_kind("/comparisons/encounter-share", "Encounters in a part as a share of a base",
                    EncounterShareParams))
async def encounter_share(request: Request,
                          params: Annotated[EncounterShareParams, Query()]) -> Response:
    """Encounters in a set of states, sectors or areas as a share of a base, with one row per
    member; part and base come from one release family (named in `meta.sources`)."""
    return await _share_response(request, "encounters", "encounter-share")


@router.get(**_kind("/comparisons/seizures-vs-encounters", "Groups of states: share of seizures "
                    "vs share of encounters", SeizuresVsEncountersParams))
async def seizures_vs_encounters(
        request: Request, params: Annotated[SeizuresVsEncountersParams, Query()]) -> Response:
    """For each group of states: its share of Southwest Border seizures beside its share of
    Southwest land border encounters in the same period, and their ratio."""

    async def build(catalog: Catalog, raw: dict[str, str]):
        period = {k: v for k, v in raw.items() if k in ("fiscal_year", "calendar_year", "month",
                                                        "from", "to")}
        seizure_filters = {k: v for k, v in (("drug", raw.get("drug")),
                                             ("component", raw.get("seizure_component"))) if v}
        measure = raw.get("measure", "quantity_lbs")
        async with request.app.state.engine.connect() as conn:
            groups = await compare.seizures_vs_encounters(
                conn=conn, catalog=catalog, groups=raw.get("groups", ""), measure=measure,
                seizure_filters=seizure_filters, period=period)
        filters = {k: v for k, v in raw.items() if k not in ("format", "bom")}
        rows, meta = documents.groups_document(groups, measure=measure, filters=filters,
                                               catalog=catalog)
        return Document(rows, meta, documents.GROUP_COLUMNS)

    return await cached_json(request, build)


@router.get(**_kind("/comparisons/ports-vs-between", "Ports of entry (OFO) vs Border Patrol "
                    "(USBP) split of seizures", PortsVsBetweenParams))
async def ports_vs_between(request: Request,
                           params: Annotated[PortsVsBetweenParams, Query()]) -> Response:
    """A drug's seizures split between ports of entry (OFO) and between ports (USBP), each as a
    share of their total."""

    async def build(catalog: Catalog, raw: dict[str, str]):
        filters = {k: v for k, v in raw.items() if k not in ("format", "bom", "measure")}
        measure = raw.get("measure", "quantity_lbs")
        async with request.app.state.engine.connect() as conn:
            shares = await compare.ports_vs_between(conn=conn, catalog=catalog, measure=measure,
                                                    filters=filters)
        rows, meta = documents.split_document(shares, filters=filters, catalog=catalog)
        return Document(rows, meta, documents.SPLIT_COLUMNS)

    return await cached_json(request, build)


@router.get(**_kind("/comparisons/change", "A measure between two periods", ChangeParams))
async def change(request: Request, params: Annotated[ChangeParams, Query()]) -> Response:
    """A measure of a dataset in two periods: absolute and percent change, e.g. overdose deaths
    2020 -> 2021 or fentanyl pounds FY2021 -> FY2022."""

    async def build(catalog: Catalog, raw: dict[str, str]):
        dataset = raw["dataset"]
        measure = raw.get("measure") or DATASETS[dataset].measure_names[0]
        filters = {k: v for k, v in raw.items()
                   if k not in ("format", "bom", "dataset", "measure", "before", "after",
                                "like_for_like")}
        like_for_like = raw.get("like_for_like", "true").lower() not in ("false", "0", "no", "off")
        async with request.app.state.engine.connect() as conn:
            result = await compare.change(conn=conn, catalog=catalog, dataset=dataset,
                                          measure=measure, filters=filters,
                                          before=raw["before"], after=raw["after"],
                                          like_for_like=like_for_like)
        rows, meta = documents.change_document(result, dataset=dataset, measure=measure,
                                               filters=filters, catalog=catalog)
        return Document(rows, meta, documents.CHANGE_COLUMNS)

    return await cached_json(request, build)


async def _share_response(request: Request, dataset: str, comparison: str) -> Response:
    async def build(catalog: Catalog, raw: dict[str, str]):
        query = compare_params.share_query(raw, default_measure=DATASETS[dataset].measure_names[0])
        async with request.app.state.engine.connect() as conn:
            share = await compare.share(conn=conn, catalog=catalog, dataset=dataset,
                                        measure=query.measure, common=query.common,
                                        base=query.base, part=query.part)
        rows, meta = documents.share_document(share, comparison=comparison, request=query,
                                              catalog=catalog)
        return Document(rows, meta, documents.SHARE_COLUMNS)

    return await cached_json(request, build)


def _describe(path: str, summary: str, model: type[BaseModel]) -> dict[str, Any]:
    parameters = []
    for name, info in model.model_fields.items():
        if name in ("format", "bom"):
            continue
        parameters.append({
            "name": info.alias or name,
            "required": info.is_required(),
            "description": info.description,
            "accepted": _literal_values(info.annotation),
            "default": None if info.is_required() else info.default,
            "example": info.examples[0] if info.examples else None,
        })
    return {"path": path, "summary": summary, "formats": ["json", "csv"], "parameters": parameters}


def _literal_values(annotation: Any) -> list[str] | None:
    for arg in (annotation, *typing.get_args(annotation)):
        if typing.get_origin(arg) is Literal:
            return list(typing.get_args(arg))
    return None
