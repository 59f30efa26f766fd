"""GET /comparisons and its five kinds: ratios computed from the data, JSON or CSV."""

from __future__ import annotations

import typing
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field, create_model

from app import compare
from app.api.deps import Context, ContextDep
from app.api.direct import DirectRoute
from app.api.examples import example_responses
from app.api.params import (
    LIST_NOTE,
    OutputParams,
    TextList,
    VintageParams,
    dimension_fields,
    source_field,
    time_fields,
)
from app.api.schemas import comparisons as schemas
from app.compare.groups import MAX_GROUPS
from app.datasets import DATASETS, Dataset
from app.render import comparisons as documents
from app.render.formats import Document, render

router = APIRouter(tags=["comparisons"], route_class=DirectRoute)

BASE_HELP = ("Named base, added to the common filters: `southwest` (Southwest Border), "
             "`southwest-ofo` / `southwest-usbp` (its ports of entry / Border Patrol), `ofo` / "
             "`usbp` (a component nationwide), `nationwide` (no extra filter: the default). "
             "Combine with `base_*` filters on other dimensions.")
MONTHLY_PERIOD = DATASETS["seizures"].time
CONTROL = ("format", "bom", "measure", "base", "dataset", "before", "after", "like_for_like",
           "groups", "seizure_component")


class ComparisonParams(VintageParams):
    def flat(self) -> dict[str, str]:
        """The given parameters as the query string wrote them (lists as comma lists)."""
        out = {}
        for name, value in self.model_dump(by_alias=True, exclude_none=True,
                                           exclude_unset=True).items():
            if name in ("format", "bom", "as_of"):
                continue
            out[name] = ",".join(value) if isinstance(value, list) else str(value)
        return out


def _period_fields() -> dict[str, Any]:
    return time_fields(DATASETS["seizures"])


def _share_model(name: str, dataset: Dataset, extra: dict[str, Any] | None = None) -> type[BaseModel]:
    measures = dataset.additive_measures
    fields: dict[str, Any] = {
        "measure": (Literal[measures], Field(measures[0], description="What to add up.")),
        "base": (Literal[tuple(compare.BASES)] | None, Field(None, description=BASE_HELP)),
        **_period_fields(),
        **dimension_fields(dataset, role="Common to part and base"),
        **dimension_fields(dataset, "part_", "Part only (numerator)"),
        **dimension_fields(dataset, "base_", "Base only (denominator)"),
        **source_field(dataset),
        **(extra or {}),
    }
    return create_model(name, __base__=ComparisonParams, **fields)


SeizureShareParams = _share_model("SeizureShareParams", DATASETS["seizures"])
EncounterShareParams = _share_model("EncounterShareParams", DATASETS["encounters"])

SeizuresVsEncountersParams = create_model(
    "SeizuresVsEncountersParams", __base__=ComparisonParams,
    groups=(str, Field(description="Groups of states: states of a group joined by `,`, groups "
                       "separated by `;` (URL-encoded `%3B`), e.g. `CA,AZ;NM,TX`. A seizure "
                       "counts in a group when its area of responsibility covers one of the "
                       f"group's states. At most {MAX_GROUPS} groups.", examples=["CA,AZ;NM,TX"])),
    measure=(Literal[DATASETS["seizures"].additive_measures],
             Field("quantity_lbs", description="Seizure measure.")),
    drug=(TextList, Field(None, description="Drug(s): slug, CBP name or alias." + LIST_NOTE)),
    seizure_component=(str | None, Field(None, description="Seizures of one component only: "
                                         "`ofo` (ports of entry) or `usbp`; the encounters "
                                         "by-state release has no component.")),
    **_period_fields(),
)

_SPLIT_DIMS = ("drug", "region", "state", "land_filter")
PortsVsBetweenParams = create_model(
    "PortsVsBetweenParams", __base__=ComparisonParams,
    measure=(Literal[DATASETS["seizures"].additive_measures],
             Field("quantity_lbs", description="What to add up.")),
    **{k: v for k, v in dimension_fields(DATASETS["seizures"]).items() if k in _SPLIT_DIMS},
    **_period_fields(),
)


def _change_filters() -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for dataset in DATASETS.values():
        for name, (annotation, info) in dimension_fields(
                dataset, role="Filter, as on the dataset's own endpoint").items():
            fields.setdefault(name, (annotation, info))
        fields.update(source_field(dataset))
    return fields


ChangeParams = create_model(
    "ChangeParams", __base__=ComparisonParams,
    dataset=(Literal[tuple(DATASETS)], Field(description="The dataset.", examples=["overdose_deaths"])),
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
    **_change_filters(),
)

KINDS: list[tuple[str, str, type[BaseModel]]] = []


def _kind(path: str, summary: str, model: type[BaseModel],
          document: type[BaseModel]) -> dict[str, Any]:
    KINDS.append((path, summary, model))
    return {"path": path, "summary": summary, "response_model": document,
            "responses": example_responses(path)}


class NoParams(OutputParams):
    pass


@router.get("/comparisons", summary="Comparison kinds and their parameters",
            response_model=schemas.ComparisonsDocument,
            responses=example_responses("/comparisons"))
async def list_comparisons(params: Annotated[NoParams, Query()], ctx: ContextDep) -> Response:
    """List every comparison with its parameters: name, required, description, accepted values,
    example."""
    rows = [_describe(path, summary, model) for path, summary, model in KINDS]
    return render(Document(rows, {"row_count": len(rows), "share_rule": compare.SHARE_RULE}),
                  ctx.output)


@router.get(**_kind("/comparisons/seizure-share", "A drug's seizures in a part as a share of a "
                    "base", SeizureShareParams, schemas.ShareDocument))
async def seizure_share(params: Annotated[SeizureShareParams, Query()],
                        ctx: ContextDep) -> Response:
    """Seizures (pounds or events) in a set of areas, states or components as a share of a base
    (Southwest Border, a component, nationwide), with one row per member of the part."""
    return render(await _share(ctx, params, DATASETS["seizures"], "seizure-share"), ctx.output)


@router.get(**_kind("/comparisons/encounter-share", "Encounters in a part as a share of a base",
                    EncounterShareParams, schemas.ShareDocument))
async def encounter_share(params: Annotated[EncounterShareParams, Query()],
                          ctx: ContextDep) -> Response:
    """Encounters in a set of states, sectors or areas as a share of a base, with one row per
    member; part and base come from one release family (named in `meta.sources`)."""
    return render(await _share(ctx, params, DATASETS["encounters"], "encounter-share"), ctx.output)


async def _share(ctx: Context, params: ComparisonParams, dataset: Dataset,
                 comparison: str) -> Document:
    catalog = await ctx.catalog()
    query = compare.share_query(params.flat(), default_measure=dataset.measure_names[0])
    step = compare.plan_share(catalog=catalog, dataset=dataset, query=query)
    share = await _compute(ctx, catalog, step)
    document = documents.share_document(share, comparison=comparison, request=query,
                                        catalog=catalog)
    document.name = ctx.page.download_name
    document.meta["permalink"] = ctx.page.permalink(catalog)
    return document


async def _compute(ctx: Context, catalog: Any, step: compare.Step[Any]) -> Any:
    async with ctx.engine.connect() as conn:
        return await compare.compute_one(conn, catalog, step)


@router.get(**_kind("/comparisons/seizures-vs-encounters", "Groups of states: share of seizures "
                    "vs share of encounters", SeizuresVsEncountersParams, schemas.GroupsDocument))
async def seizures_vs_encounters(
        params: Annotated[SeizuresVsEncountersParams, Query()], ctx: ContextDep) -> Response:
    """For each group of states: its share of Southwest Border seizures beside its share of
    Southwest land border encounters in the same months, and their ratio."""
    raw = params.flat()
    period = {k: v for k, v in raw.items() if k in MONTHLY_PERIOD.params}
    seizure_filters = {k: v for k, v in (("drug", raw.get("drug")),
                                         ("component", raw.get("seizure_component"))) if v}
    catalog = await ctx.catalog()
    step = compare.plan_groups(catalog=catalog, groups=raw.get("groups", ""),
                               measure=params.measure, seizure_filters=seizure_filters,
                               period=period)
    groups = await _compute(ctx, catalog, step)
    document = documents.groups_document(groups, measure=params.measure, filters=raw,
                                         catalog=catalog)
    document.name = ctx.page.download_name
    document.meta["permalink"] = ctx.page.permalink(catalog)
    return render(document, ctx.output)


@router.get(**_kind("/comparisons/ports-vs-between", "Ports of entry (OFO) vs Border Patrol "
                    "(USBP) split of seizures", PortsVsBetweenParams, schemas.SplitDocument))
async def ports_vs_between(params: Annotated[PortsVsBetweenParams, Query()],
                           ctx: ContextDep) -> Response:
    """A drug's seizures split between ports of entry (OFO) and between ports (USBP), each as a
    share of their total."""
    filters = {k: v for k, v in params.flat().items() if k != "measure"}
    catalog = await ctx.catalog()
    step = compare.plan_ports_vs_between(catalog=catalog, measure=params.measure, filters=filters)
    shares = await _compute(ctx, catalog, step)
    document = documents.split_document(shares, filters=filters, catalog=catalog)
    document.name = ctx.page.download_name
    document.meta["permalink"] = ctx.page.permalink(catalog)
    return render(document, ctx.output)


@router.get(**_kind("/comparisons/change", "A measure between two periods", ChangeParams,
                    schemas.ChangeDocument))
async def change(params: Annotated[ChangeParams, Query()], ctx: ContextDep) -> Response:
    """A measure of a dataset in two periods: absolute and percent change, e.g. overdose deaths
    2020 -> 2021 or fentanyl pounds FY2021 -> FY2022; like for like by default."""
    raw = params.flat()
    dataset = compare.dataset_named(params.dataset)
    measure = params.measure or dataset.measure_names[0]
    filters = {k: v for k, v in raw.items() if k not in CONTROL}
    catalog = await ctx.catalog()
    step = compare.plan_change(catalog=catalog, dataset=dataset, measure=measure, filters=filters,
                               before=params.before, after=params.after,
                               like_for_like=params.like_for_like)
    result = await _compute(ctx, catalog, step)
    document = documents.change_document(result, dataset=dataset.name, measure=measure,
                                         filters=filters, catalog=catalog)
    document.name = ctx.page.download_name
    document.meta["permalink"] = ctx.page.permalink(catalog)
    return render(document, ctx.output)


def _describe(path: str, summary: str, model: type[BaseModel]) -> dict[str, Any]:
    parameters = []
    # The comparison's own parameters first; as_of (shared by every kind) last.
    fields = sorted(model.model_fields.items(), key=lambda item: item[0] == "as_of")
    for name, info in fields:
        if name in ("format", "bom"):
            continue
        parameters.append({
            "name": info.alias or name,
            "required": info.is_required(),
            "description": info.description,
            "accepted": _literal_values(info.annotation),
            "default": None if info.is_required() else info.default,
            "example": _example(info.examples),
        })
    return {"path": path, "summary": summary, "formats": ["json", "csv"], "parameters": parameters}


def _example(examples: list[Any] | None) -> Any:
    if not examples:
        return None
    first = examples[0]
    return ",".join(first) if isinstance(first, list) else first


def _literal_values(annotation: Any) -> list[str] | None:
    for arg in (annotation, *typing.get_args(annotation)):
        if typing.get_origin(arg) is Literal:
            return list(typing.get_args(arg))
    return None
