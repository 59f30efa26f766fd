"""Which release family answers a request: it must carry every requested dimension, cover the
requested population, and publish every requested value; among those, the one publishing them in
every requested month. Several families exist for encounters; the rule is the same for all."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.datasets import Family
from app.errors import UnsupportedCombination
from app.query.catalog import Catalog
from app.query.spec import QuerySpec


def wanted_values(spec: QuerySpec) -> dict[str, tuple]:
    """The filter values a family must carry (stored columns only: a derived dimension, such as
    a seizure's state, is checked through what it stands for). Worked out once per spec (it is
    immutable; a claim's specs live as long as its plan); callers only read it."""
    def wanted() -> dict[str, tuple]:
        if spec.dataset.revision != "month":
            return {}
        stored = {d.name for d in spec.dataset.stored_dimensions}
        return {dim: f.values for dim, f in spec.filters.items() if dim in stored}
    return spec.once("_wanted", wanted)


def asked(spec: QuerySpec, dim: str, catalog: Catalog) -> set[Any] | None:
    """The values of `dim` a request asks for, directly or through what other filters imply
    (an area implies its component; `sector=` implies Border Patrol). None: every value."""
    if dim in spec.filters:
        return set(spec.filters[dim].values)
    implied: set[Any] = set()
    for name, given in spec.filters.items():
        dimension = spec.dataset.dimension(name)
        scope = dimension.synonym_scope.get(given.param, {}) if dimension else {}
        if dim in scope:
            implied.add(scope[dim])
        elif dimension is not None:
            implied |= dimension.values.implied(dim, given.values, catalog)
    for name, synonym in spec.grouped_as.items():
        dimension = spec.dataset.dimension(name)
        if dimension and dim in dimension.synonym_scope.get(synonym, {}):
            implied.add(dimension.synonym_scope[synonym][dim])
    return implied or None


def scope_problem(spec: QuerySpec, family: Family, catalog: Catalog) -> str | None:
    """Why `family` cannot answer `spec` (None: it can)."""
    missing = sorted(spec.used - family.dimensions)
    if missing:
        return f"has no {', '.join(missing)} dimension"
    for dim, only in family.only.items():
        values = asked(spec, dim, catalog)
        if values is None or not values <= only:
            wanted = ", ".join(sorted(v.lower() for v in only))
            text = family.restriction_text(dim)
            return f"covers only {dim} {text} (add {dim}={_param_value(dim, wanted)})"
    return None


def _param_value(dim: str, value: str) -> str:
    return "southwest" if dim == "region" and value == "southwest border" else value


def choose_family(spec: QuerySpec, catalog: Catalog) -> Family:
    dataset = spec.dataset
    if len(dataset.families) == 1:
        return dataset.families[0]
    loaded = catalog.sources_loaded()
    candidates = [f for f in dataset.families if f.key in loaded]
    if spec.family:
        family = dataset.family(spec.family)
        problem = "is not loaded" if family.key not in loaded else scope_problem(spec, family, catalog)
        if problem:
            raise UnsupportedCombination(
                f"source {family.key} {problem}", parameter="source", value=family.key,
                combinable=combinable(candidates))
        return family
    fitting = [f for f in candidates if scope_problem(spec, f, catalog) is None]
    if not fitting:
        requested = sorted(spec.used)
        raise UnsupportedCombination(
            "no loaded release carries " + (", ".join(requested) if requested else "this scope")
            + " together; see 'combinable' for the dimensions each release has",
            requested=requested,
            reasons={f.key: scope_problem(spec, f, catalog) for f in candidates},
            combinable=combinable(candidates))
    wanted = wanted_values(spec)
    carrying = [f for f in fitting if not values_missing(catalog, f, wanted)]
    if not carrying:
        raise _never_answerable(spec, catalog, fitting, candidates, wanted)
    months = requested_periods(spec, catalog, carrying[0])
    if spec.period.is_bounded() and months:
        held = {f.key: set(catalog.months_carrying(f.key, wanted)) for f in carrying}
        for family in carrying:
            if all(m in held[family.key] for m in months):
                return family
        for family in carrying:
            if any(m in held[family.key] for m in months):
                return family
    return carrying[0]


def requested_periods(spec: QuerySpec, catalog: Catalog, family: Family) -> list[dt.date]:
    """Every month (year) the request asks for; see Period.requested. Worked out once per
    family and period for each data version (a copy each time: callers may change theirs)."""
    key = ("requested", family.key, spec.period)
    found = catalog.memo.get(key)
    if found is None:
        dataset_months = catalog.months_of(tuple(f.key for f in spec.dataset.families))
        found = catalog.memo[key] = tuple(spec.period.requested(
            catalog.months_of((family.key,)), dataset_months, spec.dataset.time.unit))
    return list(found)


def values_missing(catalog: Catalog, family: Family, wanted: dict[str, tuple]) -> dict[str, list]:
    """Requested values the family never carries (dimension -> values)."""
    missing = {}
    for dim, values in wanted.items():
        absent = [v for v in values if v not in catalog.carried(family.key, dim)]
        if absent:
            missing[dim] = absent
    return missing


def combinable(families: list[Family]) -> dict[str, dict[str, Any]]:
    out = {}
    for f in families:
        scope: dict[str, Any] = {"dimensions": sorted(f.dimensions)}
        for dim, only in f.only.items():
            scope[f"only_{dim}"] = sorted(only)
        out[f.key] = scope
    return out


def describe_value(spec: QuerySpec, catalog: Catalog, dim: str, value: Any) -> str:
    dimension = spec.dataset.dimension(dim)
    return str(dimension.values.show(value, catalog)) if dimension else str(value)


def _never_answerable(spec: QuerySpec, catalog: Catalog, fitting: list[Family],
                      candidates: list[Family], wanted: dict[str, tuple]) -> UnsupportedCombination:
    """A 422 saying which requested value no fitting family carries, and who has it."""
    missing = values_missing(catalog, fitting[0], wanted)
    dim, values = next(iter(missing.items()))
    shown = describe_value(spec, catalog, dim, values[0])
    holders = [f.key for f in candidates if values[0] in catalog.carried(f.key, dim)]
    requested = sorted(spec.used)
    where = (f"; only {', '.join(holders)} publishes it, and it does not carry "
             f"{', '.join(requested)} together" if holders else "")
    return UnsupportedCombination(
        f"{dim.replace('_', ' ')} {shown!r} is not published by any loaded release family that "
        f"can answer this request{where}",
        parameter=spec.via(dim) or dim, value=shown, requested=requested, carried_by=holders,
        combinable=combinable(candidates))
