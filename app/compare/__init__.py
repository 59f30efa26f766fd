"""Comparisons computed from the data: shares, seizures vs encounters, ports vs between, change.

Every figure is a QuerySpec answered by the one query path, so a comparison cannot disagree with the
data endpoints. The functions here turn a comparison's flat parameters into specs and plan its
figures as steps (app/compare/figures.py), which the caller runs in batches.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.compare.change import Change, change
from app.compare.figures import Figure, Step, combine, compute, compute_one, total
from app.compare.groups import GroupComparison, parse_groups, ports_vs_between, seizures_vs_encounters
from app.compare.params import BASES, ShareQuery, period_params, share_query
from app.compare.shares import SHARE_RULE, Layer, Share, ShareRequest, check_measure, ratio, shares
from app.datasets import DATASETS, Dataset
from app.errors import InvalidParameter
from app.query.catalog import Catalog
from app.query.parse import resolve_filters
from app.query.spec import QuerySpec

__all__ = [
    "BASES",
    "SHARE_RULE",
    "Change",
    "Figure",
    "GroupComparison",
    "Share",
    "ShareQuery",
    "Step",
    "combine",
    "compute",
    "compute_one",
    "dataset_named",
    "layer",
    "plan_change",
    "plan_groups",
    "plan_ports_vs_between",
    "plan_share",
    "plan_value",
    "ratio",
    "share_query",
    "total",
]


def dataset_named(name: str) -> Dataset:
    if name not in DATASETS:
        raise InvalidParameter("dataset", name, f"unknown dataset {name!r}", sorted(DATASETS))
    return DATASETS[name]


def layer(dataset: Dataset, raw: Mapping[str, Any], catalog: Catalog, label: str) -> Layer:
    """A base or a part: dimension filters only (periods and source apply to both)."""
    for name, value in raw.items():
        if dataset.dimension(name) is None:
            accepted = [label.format(d.name) for d in dataset.dimensions]
            raise InvalidParameter(label.format(name), value, "the part and the base take "
                                   "dimension filters only; periods and source apply to both",
                                   accepted)
    return resolve_filters(dataset, raw, catalog, label=label).filters


def plan_value(*, catalog: Catalog, dataset: Dataset, measure: str, filters: Mapping[str, Any],
               label: str = "{}") -> Step[Figure]:
    """One figure from a data endpoint's filters."""
    check_measure(dataset, measure, additive=False)
    return total(resolve_filters(dataset, filters, catalog, label=label), measure)


def plan_share(*, catalog: Catalog, dataset: Dataset, query: ShareQuery,
               labels: tuple[str, str, str] = ("{}", "base_{}", "part_{}"),
               breakdown: bool = True) -> Step[Share]:
    """A part as a share of its base, from a share request's three layers."""
    common_label, base_label, part_label = labels
    check_measure(dataset, query.measure, additive=True)
    common = resolve_filters(dataset, query.common, catalog, label=common_label)
    base = layer(dataset, query.base, catalog, base_label)
    part = layer(dataset, query.part, catalog, part_label)
    written = ShareRequest(common=list(query.common.items()), base=list(query.base.items()),
                           part=list(query.part.items()))
    step = shares(catalog=catalog, common=common, base=base, parts=[part], measure=query.measure,
                  labels=labels, breakdown=breakdown, written=[written])
    return combine([step], lambda outcomes: outcomes[0][0])


def plan_groups(*, catalog: Catalog, groups: str, measure: str, seizure_filters: dict[str, str],
                period: dict[str, str]) -> Step[list[GroupComparison]]:
    """Each group of states' share of Southwest seizures beside its share of encounters."""
    states = parse_groups(groups)
    if not period:
        raise InvalidParameter("fiscal_year", None, "give a period (fiscal_year, calendar_year, "
                               "month, or from and to): seizures and encounters must cover the "
                               "same months")
    seizures, encounters = DATASETS["seizures"], DATASETS["encounters"]
    check_measure(seizures, measure, additive=True)
    seized = resolve_filters(seizures, {**seizure_filters, **period}, catalog)
    encountered = resolve_filters(encounters, {"region": "southwest", **period}, catalog)
    parts = {"seizures": [layer(seizures, {"state": g}, catalog, "groups") for g in states],
             "encounters": [layer(encounters, {"state": g}, catalog, "groups") for g in states]}
    southwest = layer(seizures, {"region": "southwest"}, catalog, "base_{}")
    return seizures_vs_encounters(catalog=catalog, groups=states, seized=seized,
                                  encountered=encountered, parts=parts, southwest=southwest,
                                  measure=measure)


def plan_ports_vs_between(*, catalog: Catalog, measure: str,
                          filters: dict[str, str]) -> Step[list[Share]]:
    seizures = DATASETS["seizures"]
    common = resolve_filters(seizures, filters, catalog)
    components = {c: layer(seizures, {"component": c}, catalog, "part_{}") for c in ("ofo", "usbp")}
    return ports_vs_between(catalog=catalog, common=common, components=components, measure=measure)


def plan_change(*, catalog: Catalog, dataset: Dataset, measure: str, filters: dict[str, str],
                before: str, after: str, like_for_like: bool = True) -> Step[Change]:
    """A measure in two periods, written FY2021, 2021, 2021-10, 2021-10..2022-04 or 2019..2021."""
    check_measure(dataset, measure, additive=False)
    common = resolve_filters(dataset, filters, catalog)
    specs: list[QuerySpec] = []
    for name, text in (("before", before), ("after", after)):
        raw = {**filters, **period_params(dataset, text, name)}
        specs.append(_with_period(common, dataset, raw, catalog, name))
    return change(catalog=catalog, before=specs[0], after=specs[1], measure=measure,
                  before_text=before, after_text=after, like_for_like=like_for_like)


def _with_period(common: QuerySpec, dataset: Dataset, raw: dict[str, str], catalog: Catalog,
                 name: str) -> QuerySpec:
    """The common filters in one period; a bad month or range is named as `before`/`after`."""
    try:
        period = resolve_filters(dataset, raw, catalog).period
    except InvalidParameter as exc:
        exc.details["parameter"] = name
        raise
    return common.with_period(period)
