"""QuerySpec: a validated request for figures from one dataset, typed and composable.

A spec is parsed once (app/query/parse.py) and then composed: comparisons narrow a common spec by a
base and a part, change one period for another, pin a release family; every figure of a comparison
or a claim is a spec, and `to_url()` is the data request that reproduces it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar
from urllib.parse import urlencode

from app.datasets import Dataset
from app.datasets.time import Period
from app.errors import InvalidParameter

T = TypeVar("T")

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 100


@dataclass(frozen=True)
class Filter:
    """One dimension's filter: canonical values (SQL), the same as users read them, and the
    query-string name and text that gave it."""

    values: tuple[Any, ...]
    shown: tuple[Any, ...]
    param: str
    raw: str
    # The values as a query string writes them (slugs, codes), for the request that reproduces it.
    written: tuple[str, ...] = ()

    def within(self, wider: Filter) -> bool:
        return set(self.values) <= set(wider.values)


@dataclass(frozen=True)
class QuerySpec:
    dataset: Dataset
    filters: Mapping[str, Filter] = field(default_factory=dict)
    period: Period = field(default_factory=Period)
    group_by: tuple[str, ...] = ()
    grain: str | None = None
    sort: tuple[tuple[str, bool], ...] = ()  # (field, descending)
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    family: str | None = None  # a release family asked for by key (`source=`)
    notes: tuple[str, ...] = ()  # what a name was read as, when it could mean something else
    raw_group_by: str | None = None
    # A grouped dimension named by a synonym (group_by=sector): the synonym, for its scope.
    grouped_as: Mapping[str, str] = field(default_factory=dict)

    @property
    def keys(self) -> tuple[str, ...]:
        """Grouped dimensions, then the time grain."""
        return self.group_by + ((self.grain,) if self.grain else ())

    @property
    def used(self) -> set[str]:
        """Every dimension the request filters or groups by."""
        return set(self.filters) | set(self.group_by)

    def via(self, dim: str) -> str | None:
        """The name a dimension was asked by (`sector` for areas asked as sectors)."""
        if dim in self.filters:
            return self.filters[dim].param
        return self.grouped_as.get(dim)

    def values(self, dim: str) -> tuple[Any, ...]:
        found = self.filters.get(dim)
        return found.values if found else ()

    # --- composition ------------------------------------------------------------------------

    def narrow(self, layer: Mapping[str, Filter], *, catalog: Any, label: str = "{}") -> QuerySpec:
        """These filters narrowed by a layer that must lie within them (a base within the common
        filters, a part within its base); `label` names the layer's parameters in errors."""
        for dim, inner in layer.items():
            outer = self.filters.get(dim)
            if outer is not None and not inner.within(outer):
                raise InvalidParameter(
                    label.format(inner.param), inner.raw,
                    f"{', '.join(map(str, inner.shown))} is not within the wider {dim} filter "
                    f"({', '.join(map(str, outer.shown))}): the part is counted within the base "
                    "and the base within the common filters")
        _check_areas_within(self, layer, catalog, label)
        return replace(self, filters={**self.filters, **layer},
                       notes=tuple(dict.fromkeys(self.notes)))

    def with_period(self, period: Period) -> QuerySpec:
        return replace(self, period=period)

    def with_months(self, months: Sequence[dt.date]) -> QuerySpec:
        """The same request narrowed to listed months (within the period it already names)."""
        return replace(self, period=replace(self.period, months=tuple(sorted(months))))

    def with_family(self, family: str | None) -> QuerySpec:
        return replace(self, family=family)

    def once(self, name: str, compute: Callable[[], T]) -> T:
        """What this spec works out from itself, computed on first use and kept on it (a spec is
        immutable; a claim's specs live as long as its plan, so theirs are kept that long)."""
        found = self.__dict__.get(name)
        if found is None:
            found = compute()
            object.__setattr__(self, name, found)
        return found

    def single(self) -> QuerySpec:
        """The request for one total figure: no grouping, no paging. The same object each time,
        so what it works out once (its URL) is worked out once."""
        return self.once("_single", lambda: replace(self, group_by=(), grain=None, sort=(),
                                                    limit=1, offset=0, grouped_as={}))

    def understood(self, catalog: Any) -> dict[str, Any]:
        """The filters as understood: values as users read them, the period, and the defaults a
        dimension takes when neither filtered nor grouped (overdose deaths: US, total, all)."""
        out: dict[str, Any] = {dim: list(f.shown) for dim, f in self._ordered()}
        out.update(self.dataset.time.describe(self.period))
        for dim in self.dataset.dimensions:
            if dim.default is not None and dim.name not in self.filters and dim.name not in self.group_by:
                out[dim.name] = [dim.values.show(v, catalog) for v in dim.default]
        return out

    # --- the request that reproduces it -----------------------------------------------------

    def params(self) -> list[tuple[str, str]]:
        """Query parameters of the data endpoint that ask for this spec."""
        items = [(f.param, ",".join(f.written or map(str, f.shown))) for dim, f in self._ordered()]
        for name, value in self.dataset.time.describe(self.period).items():
            items.append((name, ",".join(map(str, value)) if isinstance(value, list) else str(value)))
        if self.family:
            items.append(("source", self.family))
        if self.group_by or self.grain:
            items.append(("group_by", ",".join(self.keys)))
        return items

    def to_url(self) -> str:
        def url() -> str:
            items = self.params()
            return f"{self.dataset.path}?{urlencode(items, safe=',')}" if items else self.dataset.path
        return self.once("_url", url)

    def _ordered(self) -> list[tuple[str, Filter]]:
        order = {d.name: i for i, d in enumerate(self.dataset.dimensions)}
        return sorted(self.filters.items(), key=lambda item: order.get(item[0], len(order)))


def _check_areas_within(outer: QuerySpec, layer: Mapping[str, Filter], catalog: Any,
                        label: str) -> None:
    """An area in the part must fit the base's component, region and states: a Border Patrol
    sector is never a share of ports of entry."""
    areas = layer.get("area")
    if areas is None:
        return
    for area_id in areas.values:
        area = catalog.area_by_id[area_id]
        misfit = None
        components, regions = outer.values("component"), outer.values("region")
        states = outer.filters.get("state")
        if components and area.component not in components:
            misfit = f"component {area.component}, the base is {', '.join(components)}"
        elif regions and area.region not in regions:
            misfit = f"region {area.region}, the base is {', '.join(regions)}"
        elif states and not set(area.states) & set(states.values):
            misfit = f"states {', '.join(area.states) or 'none'}, the base is {', '.join(states.shown)}"
        if misfit:
            raise InvalidParameter(label.format(areas.param), areas.raw,
                                   f"{area.slug} is not within the base ({misfit}): the part is "
                                   "counted within the base")
