"""Resolve a request's filters against the catalog into a QuerySpec, once.

The HTTP layer has already parsed the query string into declared models (app/api/params.py); here
the values are checked against what the data hold. The same function reads the filters of claim
definitions and comparison layers, so a filter means one thing everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from app.datasets import Dataset
from app.datasets.values import Context
from app.errors import InvalidParameter
from app.query.spec import DEFAULT_LIMIT, Filter, QuerySpec

SHAPE_PARAMS = ("group_by", "sort", "limit", "offset")


def split_list(values: Iterable[str]) -> list[str]:
    """Comma lists and repeated parameters alike: ["a,b", "c"] -> ["a", "b", "c"]."""
    return [part.strip() for value in values for part in str(value).split(",") if part.strip()]


def filter_names(dataset: Dataset) -> list[str]:
    """Every name a filter of this dataset may be given by (dimensions, synonyms, time)."""
    names = [name for dim in dataset.dimensions for name in dim.names()]
    names += list(dataset.time.params)
    if len(dataset.families) > 1:
        names.append("source")
    return names


def resolve_filters(dataset: Dataset, raw: Mapping[str, Any], catalog: Any, *,
                    label: str = "{}") -> QuerySpec:
    """A spec from plain filters (claim definitions, comparison layers): names are checked too."""
    allowed = filter_names(dataset)
    for name, value in raw.items():
        if name not in allowed:
            error = InvalidParameter(label.format(name), value,
                                     f"unknown parameter {name!r} for {dataset.path}",
                                     sorted(allowed), suggest_for=name)
            raise error
    lists = {name: value if isinstance(value, list) else [value] for name, value in raw.items()}
    family = lists.pop("source", None)
    return resolve_query(dataset, lists, catalog, family=family[0] if family else None, label=label)


def resolve_query(dataset: Dataset, raw: Mapping[str, list[str]], catalog: Any, *,
                  group_by: list[str] | None = None, sort: list[str] | None = None,
                  limit: int = DEFAULT_LIMIT, offset: int = 0, family: str | None = None,
                  label: str = "{}") -> QuerySpec:
    """Check every filter value, the period, the grouping and the sort against the data."""
    try:
        return _resolve(dataset, raw, catalog, group_by, sort, limit, offset, family)
    except InvalidParameter as exc:
        if label != "{}":
            exc.details["parameter"] = label.format(exc.details.get("parameter"))
        raise


def _resolve(dataset: Dataset, raw: Mapping[str, list[str]], catalog: Any,
             group_by: list[str] | None, sort: list[str] | None, limit: int, offset: int,
             family: str | None) -> QuerySpec:
    filters: dict[str, Filter] = {}
    notes: list[str] = []
    for dim in dataset.dimensions:
        given = [(name, raw[name]) for name in dim.names() if raw.get(name) is not None]
        if len(given) > 1:
            names = " and ".join(name for name, _ in given)
            raise InvalidParameter(given[1][0], ",".join(given[1][1]),
                                   f"give {names} once: they are the same filter")
        if not given:
            continue
        param, values = given[0]
        text = ",".join(values)
        tokens = split_list(values)
        if not tokens:
            raise InvalidParameter(param, text, f"{param} is empty")
        if catalog.is_empty:
            # An empty database knows no drugs, areas or states to check values against: every
            # figure is "no data", so the names and the period alone are checked, and the filter
            # matches nothing.
            filters[dim.name] = Filter((), tuple(tokens), param, text)
            continue
        ctx = Context(catalog=catalog, dataset=dataset.name, dimension=dim.name, notes=notes)
        resolved = dim.values.resolve(param, tokens, ctx)
        written = tuple(dim.values.written(v, catalog) for v in resolved.values)
        filters[dim.name] = Filter(resolved.values, resolved.shown, param, text, written)
    time_raw = {name: split_list(raw[name]) if name == "month" else list(raw[name])
                for name in dataset.time.params if raw.get(name) is not None}
    for name in ("fiscal_year", "calendar_year", "year"):
        if name in time_raw:
            time_raw[name] = split_list(time_raw[name])
    period = dataset.time.parse(time_raw)
    dims, grain, grouped_as = _group_by(dataset, group_by)
    if family is not None:
        keys = [f.key for f in dataset.families]
        if family not in keys:
            raise InvalidParameter("source", family, "unknown source", keys)
    spec = QuerySpec(
        dataset=dataset, filters=filters, period=period, group_by=dims, grain=grain,
        sort=_sort(dataset, sort, dims, grain), limit=limit, offset=offset, family=family,
        notes=tuple(dict.fromkeys(notes)),
        raw_group_by=",".join(group_by) if group_by is not None else None, grouped_as=grouped_as)
    for rule in dataset.rules:
        rule(spec)
    return spec


def _group_by(dataset: Dataset, values: list[str] | None) -> tuple[tuple[str, ...], str | None,
                                                                      dict[str, str]]:
    if values is None:
        return (), None, {}
    tokens = split_list(values)
    if not tokens:
        raise InvalidParameter("group_by", ",".join(values), "group_by is empty", _choices(dataset))
    dims: list[str] = []
    grain = None
    grouped_as: dict[str, str] = {}
    for token in tokens:
        name = token.lower()
        if name in dataset.time.grains:
            if grain is not None and grain != name:
                error = InvalidParameter(
                    "group_by", token, f"group_by takes one time grain, and {grain} and {name} "
                    "are both grains: keep one (the other dimensions may stay)",
                    list(dataset.time.grains))
                error.details.pop("did_you_mean", None)
                raise error
            grain = name
            continue
        dim = dataset.dimension(name)
        if dim is None:
            raise InvalidParameter("group_by", token, f"cannot group {dataset.path} by {token!r}",
                                   _choices(dataset))
        if name != dim.name:
            grouped_as.setdefault(dim.name, name)  # group_by=sector: areas as sectors
        if dim.name not in dims:
            dims.append(dim.name)
    return tuple(dims), grain, grouped_as


def _choices(dataset: Dataset) -> list[str]:
    return [name for dim in dataset.dimensions for name in dim.names()] + list(dataset.time.grains)


def _sort(dataset: Dataset, values: list[str] | None, dims: tuple[str, ...],
          grain: str | None) -> tuple[tuple[str, bool], ...]:
    keys = list(dims) + ([grain] if grain else [])
    if values is None:
        ordered = ([grain] if grain else []) + list(dims)
        return tuple((k, False) for k in ordered)
    allowed = keys + list(dataset.measure_names)
    tokens = split_list(values)
    out = []
    for token in tokens:
        descending = token.startswith("-")
        name = token.lstrip("-+").lower()
        dim = dataset.dimension(name)
        if dim is not None:
            name = dim.name
        if name == "period" and grain:
            name = grain
        if name not in allowed:
            raise InvalidParameter("sort", token, f"cannot sort by {token!r}: sort by a group_by key "
                                   "or a measure, '-' for descending", allowed)
        out.append((name, descending))
    if not out:
        raise InvalidParameter("sort", ",".join(values), "sort is empty", allowed)
    return tuple(out)
