"""Comparisons computed from the data: shares, seizures vs encounters, ports vs between, change.

Every figure is parse_query + query.run, the path /seizures takes, so a comparison cannot disagree
with the data endpoints. A share is sum(part) / sum(base), both answered from the same source; never
a mean of ratios. The part is always counted within the base: numerator = common + base + part
filters, denominator = common + base filters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncConnection

from app import query
from app.catalog import Catalog, ReleaseInfo
from app.compare_params import parse_groups, period_params
from app.datasets import DATASETS, Dataset
from app.errors import InvalidParameter, UnsupportedCombination
from app.params import MAX_LIMIT, QuerySpec, parse_query
from app.render import build_meta

SHARE_PATHS = {"seizures": "/comparisons/seizure-share", "encounters": "/comparisons/encounter-share"}
ADDITIVE_MEASURES = ("quantity_lbs", "quantity_kg", "event_count", "encounter_count", "deaths")
SHARE_RULE = ("share = sum of the measure over the part / sum over the base, both from one "
              "source and one query each; never a mean of ratios. A zero base gives a null share.")


@dataclass(frozen=True)
class Figure:
    """One aggregated number, the request that reproduces it and the releases behind it."""

    value: float | int | None
    request: str
    filters: dict[str, Any]
    source: str | None
    releases: tuple[ReleaseInfo, ...]
    complete: bool | None
    note: str | None = None
    caveats: tuple[str, ...] = ()
    # Monthly data: the months the period asks for, and those the value adds up.
    requested: tuple[dt.date, ...] = ()
    months: tuple[dt.date, ...] = ()
    period: dict[str, Any] | None = None

    def document(self) -> dict[str, Any]:
        return {
            "value": self.value, "request": self.request, "filters": self.filters,
            "source": self.source,
            "releases": [{"id": r.id, "file_name": r.file_name} for r in self.releases],
            "complete": self.complete, "period": self.period, "note": self.note,
        }


@dataclass(frozen=True)
class Ratio:
    value: float | None
    note: str | None


@dataclass(frozen=True)
class MemberShare:
    """One member of a share's part (an area, a state, a component) against the whole base."""

    member: str
    name: str
    value: float | int | None
    share: float | None
    request: str


@dataclass(frozen=True)
class Share:
    """A part as a share of its base, with the part's per-member breakdown."""

    dataset: str
    measure: str
    part: dict[str, str]
    numerator: Figure
    denominator: Figure
    value: float | None
    note: str | None
    members: tuple[MemberShare, ...]
    request: str | None

    @property
    def figures(self) -> tuple[Figure, Figure]:
        return self.numerator, self.denominator


@dataclass(frozen=True)
class GroupComparison:
    """A group of states: its share of Southwest seizures beside its share of encounters."""

    states: str
    seizures: Share
    encounters: Share
    ratio: float | None
    note: str | None


@dataclass(frozen=True)
class Change:
    """A measure in two periods: absolute and percent change."""

    before_period: str
    after_period: str
    before: Figure
    after: Figure
    absolute_change: float | int | None
    percent_change: float | None
    note: str | None
    like_for_like: bool = True

    @property
    def months_compared(self) -> dict[str, list[str]]:
        return {"before": [f"{m:%Y-%m}" for m in self.before.months],
                "after": [f"{m:%Y-%m}" for m in self.after.months]}


# --- public service functions -------------------------------------------------------------------

async def figure(*, conn: AsyncConnection, catalog: Catalog, dataset: str, measure: str,
                 filters: dict[str, str], label: str = "{}") -> Figure:
    """Compute one figure from raw query filters (the parameters of the data endpoint)."""
    ds = _dataset(dataset)
    _check_measure(ds, measure, additive=False)
    return await _figure(conn, catalog, ds, measure, filters, label)


def ratio(numerator: float | int | None, denominator: float | int | None) -> Ratio:
    """Divide two sums; null with a reason when either is missing or the base is zero."""
    if numerator is None or denominator is None:
        return Ratio(None, "no data for the period: the share is null")
    if denominator == 0:
        return Ratio(None, "the base is zero for the period: a share of nothing is undefined")
    return Ratio(numerator / denominator, None)


async def share(*, conn: AsyncConnection, catalog: Catalog, dataset: str, measure: str,
                common: dict[str, str], base: dict[str, str], part: dict[str, str],
                labels: tuple[str, str, str] = ("{}", "base_{}", "part_{}"),
                breakdown: bool = True) -> Share:
    """Compute a part as a share of a base, with the per-member breakdown of the part."""
    (result,) = await shares(conn=conn, catalog=catalog, dataset=dataset, measure=measure,
                             common=common, base=base, parts=[part], labels=labels,
                             breakdown=breakdown)
    return result


async def shares(*, conn: AsyncConnection, catalog: Catalog, dataset: str, measure: str,
                 common: dict[str, str], base: dict[str, str], parts: Sequence[dict[str, str]],
                 labels: tuple[str, str, str] = ("{}", "base_{}", "part_{}"),
                 breakdown: bool = True) -> list[Share]:
    """Compute several parts as shares of one base, every figure from one source."""
    ds = _dataset(dataset)
    _check_measure(ds, measure, additive=True)
    common_label, base_label, part_label = labels
    _parse(ds, common, catalog, common_label)
    _check_layer(ds, base, base_label)
    for part in parts:
        if not part:
            raise InvalidParameter(part_label.format("").rstrip("_.") or "part", None,
                                   "the part is empty: give at least one part filter, e.g. "
                                   "part_area=san-diego-field-office")
        _check_layer(ds, part, part_label)
    denominator_raw = _narrow(ds, catalog, common, base, base_label)
    numerator_raws = [_narrow(ds, catalog, denominator_raw, part, part_label) for part in parts]
    source = _common_source(ds, catalog, numerator_raws)
    if source is not None:
        denominator_raw = {**denominator_raw, "source": source}
        numerator_raws = [{**raw, "source": source} for raw in numerator_raws]
        _check_base_on_source(ds, catalog, denominator_raw, source)
    whole_base = await _figure(conn, catalog, ds, measure, denominator_raw)
    out = []
    for part, raw in zip(parts, numerator_raws, strict=True):
        numerator, denominator = await _figure(conn, catalog, ds, measure, raw), whole_base
        months_note = None
        if numerator.months and set(numerator.months) != set(denominator.months):
            # Like with like: a part published in fewer months is divided by the base of those
            # months only.
            both = sorted(set(numerator.months) & set(denominator.months))
            months_note = (f"the part is published for {_span_text(numerator.months)} only: the "
                           f"base is counted over the same {len(both)} month(s)")
            raw = only_months(raw, both)
            numerator = await _figure(conn, catalog, ds, measure, raw)
            denominator = await _figure(conn, catalog, ds, measure,
                                        only_months(denominator_raw, both))
        members: tuple[MemberShare, ...] = ()
        if breakdown and numerator.value is not None:
            members = await _members(conn, catalog, ds, measure, raw, part, denominator.value)
        quotient = ratio(numerator.value, denominator.value)
        if months_note:
            quotient = Ratio(quotient.value, "; ".join(n for n in (months_note, quotient.note) if n))
        request = (share_request(dataset=ds.name, measure=measure, common=common, base=base,
                                 part=part) if ds.name in SHARE_PATHS else None)
        out.append(Share(dataset=ds.name, measure=measure, part=dict(part), numerator=numerator,
                         denominator=denominator, value=quotient.value, note=quotient.note,
                         members=members, request=request))
    return out


async def seizures_vs_encounters(*, conn: AsyncConnection, catalog: Catalog, groups: str,
                                 measure: str, seizure_filters: dict[str, str],
                                 period: dict[str, str]) -> list[GroupComparison]:
    """Compare each group of states' share of Southwest seizures with its share of encounters."""
    states = parse_groups(groups)
    if not period:
        raise InvalidParameter("fiscal_year", None, "give a period (fiscal_year, calendar_year, "
                               "month, or from and to): seizures and encounters must cover the "
                               "same months")
    parts = [{"state": group} for group in states]
    labels = ("{}", "base_{}", "groups")

    async def both(months: Sequence[dt.date] | None) -> tuple[list[Share], list[Share]]:
        window = only_months(period, months) if months is not None else period
        seized = await shares(conn=conn, catalog=catalog, dataset="seizures", measure=measure,
                              common={**seizure_filters, **window}, base={"region": "southwest"},
                              parts=parts, labels=labels)
        encountered = await shares(conn=conn, catalog=catalog, dataset="encounters",
                                   measure="encounter_count",
                                   common={"region": "southwest", **window}, base={},
                                   parts=parts, labels=labels)
        return seized, encountered

    seized, encountered = await both(None)
    # Like with like: both shares over the months both datasets have in the period.
    have_seized, have_encountered = seized[0].denominator.months, encountered[0].denominator.months
    period_note = None
    if have_seized != have_encountered and have_seized and have_encountered:
        common = sorted(set(have_seized) & set(have_encountered))
        if common:
            seized, encountered = await both(common)
            period_note = (f"compared the {len(common)} month(s) both datasets have in the period "
                           f"({_span_text(common)}): seizures cover {_span_text(have_seized)}, "
                           f"encounters {_span_text(have_encountered)}")
    out = []
    for group, by_seizure, by_encounter in zip(states, seized, encountered, strict=True):
        comparable = set(by_seizure.denominator.months) == set(by_encounter.denominator.months)
        if not comparable:
            note = ("seizures and encounters have no month of the period in common "
                    f"(seizures: {_span_text(by_seizure.denominator.months)}; encounters: "
                    f"{_span_text(by_encounter.denominator.months)}): nothing to compare")
            by_seizure, by_encounter = _nothing(by_seizure, note), _nothing(by_encounter, note)
            out.append(GroupComparison(states=group, seizures=by_seizure, encounters=by_encounter,
                                       ratio=None, note=note))
            continue
        quotient = ratio(by_seizure.value, by_encounter.value)
        note = quotient.note
        if by_encounter.value == 0:
            note = "the group has no encounters in the period: the ratio is undefined"
        note = "; ".join(n for n in (period_note, note) if n) or None
        out.append(GroupComparison(states=group, seizures=by_seizure, encounters=by_encounter,
                                   ratio=quotient.value, note=note))
    return out


def _span_text(months: Sequence[dt.date]) -> str:
    if not months:
        return "no month"
    return f"{months[0]:%Y-%m}..{months[-1]:%Y-%m}" if len(months) > 1 else f"{months[0]:%Y-%m}"


def _nothing(share: Share, note: str) -> Share:
    """A share with no figure (its numbers cannot be compared with the other dataset's)."""
    return replace(share, value=None, note=note, members=(),
                   numerator=_without_value(share.numerator, note),
                   denominator=_without_value(share.denominator, note))


async def ports_vs_between(*, conn: AsyncConnection, catalog: Catalog, measure: str,
                           filters: dict[str, str]) -> list[Share]:
    """Split seizures between ports of entry (OFO) and Border Patrol (USBP)."""
    return await shares(conn=conn, catalog=catalog, dataset="seizures", measure=measure,
                        common=filters, base={},
                        parts=[{"component": "ofo"}, {"component": "usbp"}], breakdown=False)


async def change(*, conn: AsyncConnection, catalog: Catalog, dataset: str, measure: str,
                 filters: dict[str, str], before: str, after: str,
                 like_for_like: bool = True) -> Change:
    """Compute a measure in two periods and the change between them, like for like by default:
    when either period is only partly in the data, the same months of each are compared."""
    ds = _dataset(dataset)
    _check_measure(ds, measure, additive=False)
    _parse(ds, filters, catalog)
    raws = []
    for name, text in (("before", before), ("after", after)):
        raw = {**filters, **period_params(ds, text, name)}
        _parse(ds, raw, catalog, label=name)  # a bad month or range is named as `before`/`after`
        raws.append(raw)
    first, second = await _figures_on_one_source(conn, catalog, ds, measure, raws)
    note = None
    partial = [f"{text} ({_months_text(f)})" for text, f in ((before, first), (after, second))
               if f.complete is False and f.value is not None]
    if partial and like_for_like and ds.time == "month":
        pairs = aligned_months(first, second)
        if pairs:
            first, second = await _figures_on_one_source(
                conn, catalog, ds, measure,
                [only_months(raws[0], [b for b, _ in pairs]),
                 only_months(raws[1], [a for _, a in pairs])])
            note = (f"{' and '.join(partial)} only partly in the data: compared the same "
                    f"{len(pairs)} month(s) of each period, {_months_text(first, count=False)} "
                    f"and {_months_text(second, count=False)}; like_for_like=false gives the raw "
                    "totals")
        else:
            note = "the periods have no month in common in the data: nothing to compare"
            first, second = _without_value(first), _without_value(second)
    elif partial:
        note = (f"not like for like: {' and '.join(partial)} only partly in the data; "
                "like_for_like=true compares the same months of each period")
    absolute = percent = None
    if first.value is None or second.value is None:
        note = note or "no data for one of the periods"
    else:
        absolute = second.value - first.value
        if isinstance(absolute, float):
            absolute = round(absolute, 6)
        if first.value == 0:
            note = (note + "; " if note else "") + "the earlier value is zero: no percent change"
        else:
            percent = (second.value - first.value) / first.value * 100
    return Change(before_period=before, after_period=after, before=first, after=second,
                  absolute_change=absolute, percent_change=percent, note=note,
                  like_for_like=like_for_like)


def aligned_months(first: Figure, second: Figure) -> list[tuple[dt.date, dt.date]]:
    """Pairs of months at the same position of two periods that both have in the data."""
    have_first, have_second = set(first.months), set(second.months)
    return [(b, a) for b, a in zip(first.requested, second.requested, strict=False)
            if b in have_first and a in have_second]


def only_months(raw: dict[str, str], months: Sequence[dt.date]) -> dict[str, str]:
    """Raw filters narrowed to listed months (within the period they already name)."""
    return {**raw, "month": ",".join(f"{m:%Y-%m}" for m in months)}


def _months_text(figure: Figure, *, count: bool = True) -> str:
    if not figure.months:
        return "no month"
    first, last = figure.months[0], figure.months[-1]
    span = f"{first:%Y-%m}" if first == last else f"{first:%Y-%m}..{last:%Y-%m}"
    return f"{span}, {len(figure.months)} month(s)" if count else span


def _without_value(figure: Figure, note: str = "no month in common with the other period") -> Figure:
    return replace(figure, value=None, note=note)


# --- requests that reproduce a figure ---------------------------------------------------------

def share_request(*, dataset: str, measure: str, common: dict[str, str], base: dict[str, str],
                  part: dict[str, str]) -> str:
    """The /comparisons request that reproduces a share."""
    items = [("measure", measure), *common.items()]
    items += [(f"part_{k}", v) for k, v in part.items()]
    items += [(f"base_{k}", v) for k, v in base.items()]
    return f"{SHARE_PATHS[dataset]}?{urlencode(items, safe=',')}"


def request_url(path: str, raw: dict[str, str]) -> str:
    return f"{path}?{urlencode(list(raw.items()), safe=',')}" if raw else path


# --- internals ----------------------------------------------------------------------------------

def _dataset(name: str) -> Dataset:
    if name not in DATASETS:
        raise InvalidParameter("dataset", name, f"unknown dataset {name!r}", sorted(DATASETS))
    return DATASETS[name]


def _check_measure(ds: Dataset, measure: str, *, additive: bool) -> None:
    names = [m for m in ds.measure_names if m in ADDITIVE_MEASURES or not additive]
    if measure not in names:
        reason = "cannot be summed into a share" if measure in ds.measure_names else "is unknown"
        raise InvalidParameter("measure", measure, f"measure {measure!r} {reason} for {ds.name}",
                               names)


def has_releases(catalog: Catalog, dataset: str) -> bool:
    return any(r.dataset == dataset for r in catalog.releases)


def _parse(ds: Dataset, raw: dict[str, str], catalog: Catalog, label: str = "{}") -> QuerySpec:
    """Validate raw filters through parse_query, naming a fault as the caller's parameter."""
    if catalog.is_empty:
        # An empty database has no drugs, areas or states to check values against: check the
        # names and the period only (nothing is queried: every figure is "no data").
        raw = {k: v for k, v in raw.items() if ds.dimension(k) is None}
    try:
        return parse_query(ds.name, raw, catalog)
    except InvalidParameter as exc:
        exc.details["parameter"] = label.format(exc.details.get("parameter"))
        raise


def _check_layer(ds: Dataset, layer: dict[str, str], label: str) -> None:
    for name, value in layer.items():
        if ds.dimension(name) is None:
            accepted = [label.format(d.name) for d in ds.dimensions]
            raise InvalidParameter(label.format(name), value, "the part and the base take "
                                   "dimension filters only; periods and source apply to both",
                                   accepted)


def _dimension_of(ds: Dataset, name: str) -> str | None:
    dim = ds.dimension(name)
    return dim.name if dim is not None else None


def _narrow(ds: Dataset, catalog: Catalog, wider: dict[str, str], narrower: dict[str, str],
            label: str) -> dict[str, str]:
    """Wider filters narrowed by a layer; the layer must lie within them."""
    outer = _parse(ds, wider, catalog)
    inner = _parse(ds, narrower, catalog, label)
    for dim, values in inner.filters.items():
        if dim in outer.filters and not set(values) <= set(outer.filters[dim]):
            raise InvalidParameter(
                label.format(inner.via.get(dim, dim)), narrower.get(inner.via.get(dim, dim)),
                f"{', '.join(map(str, inner.understood[dim]))} is not within the wider "
                f"{dim} filter ({', '.join(map(str, outer.understood[dim]))}): the part is "
                "counted within the base and the base within the common filters")
    _check_areas_within(catalog, inner, outer, narrower, label)
    dims = {_dimension_of(ds, name) for name in narrower}
    out = {k: v for k, v in wider.items() if _dimension_of(ds, k) not in dims}
    out.update(narrower)
    return out


def _check_areas_within(catalog: Catalog, inner: QuerySpec, outer: QuerySpec,
                        narrower: dict[str, str], label: str) -> None:
    """An area in the part must fit the base's component, region and states: a Border Patrol
    sector is never a share of ports of entry."""
    param = label.format(inner.via.get("area", "area"))
    for area_id in inner.filters.get("area", ()):
        area = catalog.area_by_id[area_id]
        misfit = None
        if "component" in outer.filters and area.component not in outer.filters["component"]:
            misfit = f"component {area.component}, the base is {', '.join(outer.filters['component'])}"
        elif "region" in outer.filters and area.region not in outer.filters["region"]:
            misfit = f"region {area.region}, the base is {', '.join(outer.filters['region'])}"
        elif "state" in outer.filters and not set(area.states) & set(outer.filters["state"]):
            misfit = (f"states {', '.join(area.states) or 'none'}, the base is "
                      f"{', '.join(outer.understood['state'])}")
        if misfit:
            raise InvalidParameter(param, narrower.get(inner.via.get("area", "area")),
                                   f"{area.slug} is not within the base ({misfit}): the part "
                                   "is counted within the base")


def _common_source(ds: Dataset, catalog: Catalog, raws: list[dict[str, str]]) -> str | None:
    """The one source that answers every part and the base (encounters have several)."""
    if len(ds.sources) <= 1 or not has_releases(catalog, ds.name):
        return None
    union: dict[str, tuple[str, str]] = {}
    for raw in raws:
        for name, value in raw.items():
            union[_dimension_of(ds, name) or name] = (name, value)
    spec = _parse(ds, dict(union.values()), catalog)
    return query.choose_source(spec, catalog).key


def _check_base_on_source(ds: Dataset, catalog: Catalog, base_raw: dict[str, str],
                          source: str) -> None:
    try:
        query.choose_source(_parse(ds, base_raw, catalog), catalog)
    except UnsupportedCombination as exc:
        problem = exc.message.removeprefix(f"source {source} ")
        raise UnsupportedCombination(
            f"part and base must come from one release family; only {source} answers the part, "
            f"and it cannot answer the base: it {problem}", source=source,
            combinable=exc.details.get("combinable")) from None


async def _figure(conn: AsyncConnection, catalog: Catalog, ds: Dataset, measure: str,
                  raw: dict[str, str], label: str = "{}") -> Figure:
    request = request_url(ds.path, raw)
    if not has_releases(catalog, ds.name):
        _parse(ds, raw, catalog, label)
        return Figure(value=None, request=request, filters=dict(raw), source=None, releases=(),
                      complete=None, note=f"no release of {ds.title} is loaded")
    spec = _parse(ds, raw, catalog, label)
    result = await query.run(conn, spec, catalog)
    meta = build_meta(result, data_version=catalog.version, next_url=None)
    value = result.rows[0].get(measure) if result.rows else None
    note = None if value is not None else "the loaded releases have no data for this period"
    requested = (tuple(query.requested_months(spec, catalog, result.source))
                 if ds.time == "month" else ())
    return Figure(value=value, request=request, filters=meta["filters"], source=result.source.key,
                  releases=tuple(result.releases), complete=result.complete, note=note,
                  caveats=tuple(result.caveats), requested=requested, months=result.months,
                  period=meta["period"])


async def _figures_on_one_source(conn: AsyncConnection, catalog: Catalog, ds: Dataset,
                                 measure: str, raws: list[dict[str, str]]) -> list[Figure]:
    """Figures for several periods, from one source that covers them all where there is one."""
    if len(ds.sources) <= 1 or not has_releases(catalog, ds.name) or "source" in raws[0]:
        return [await _figure(conn, catalog, ds, measure, raw) for raw in raws]
    preferred = [query.choose_source(_parse(ds, raw, catalog), catalog).key for raw in raws]
    for key in dict.fromkeys(preferred):
        try:
            figures = [await _figure(conn, catalog, ds, measure, {**raw, "source": key})
                       for raw in raws]
        except UnsupportedCombination:
            continue
        if all(f.complete is not False for f in figures):
            return figures
    return [await _figure(conn, catalog, ds, measure, {**raw, "source": preferred[0]})
            for raw in raws]


async def _members(conn: AsyncConnection, catalog: Catalog, ds: Dataset, measure: str,
                   numerator_raw: dict[str, str], part: dict[str, str],
                   base_value: float | int | None) -> tuple[MemberShare, ...]:
    """One row per member of the part: each area of part_area=a,b, each state, ..."""
    names = {_dimension_of(ds, n): n for n in part}
    replaced = set(names)
    if ds.name == "seizures" and "state" in names:
        # Seizures have no state of their own: a state stands for its areas.
        names.pop("state")
        names.setdefault("area", "area")
    dims = list(names)
    replaced.update(dims)
    raw = {**numerator_raw, "group_by": ",".join(dims), "limit": str(MAX_LIMIT)}
    spec = _parse(ds, raw, catalog)
    rows = list((await query.run(conn, spec, catalog)).rows)
    if len(dims) == 1 and dims[0] in spec.filters:
        seen = {row[dims[0]] for row in rows}
        # A member with no published row has no data (null), not zero.
        rows += [{dims[0]: v, measure: None} for v in spec.understood[dims[0]] if v not in seen]
        order = {v: i for i, v in enumerate(spec.understood[dims[0]])}
        rows.sort(key=lambda row: order.get(row[dims[0]], len(order)))
    members = []
    for row in rows:
        member_raw = {k: v for k, v in numerator_raw.items()
                      if _dimension_of(ds, k) not in replaced}
        member_raw.update({names[d]: str(row[d]) for d in dims})
        value = row.get(measure)
        members.append(MemberShare(
            member=" / ".join(str(row[d]) for d in dims),
            name=" / ".join(_member_name(catalog, d, row) for d in dims),
            value=value, share=ratio(value, base_value).value,
            request=request_url(ds.path, member_raw)))
    return tuple(members)


def _member_name(catalog: Catalog, dim: str, row: dict[str, Any]) -> str:
    value = row[dim]
    if f"{dim}_name" in row:
        return str(row[f"{dim}_name"])
    if dim == "area":
        return next((a.name for a in catalog.areas if a.slug == value), str(value))
    if dim == "drug":
        return next((d.name for d in catalog.drugs if d.slug == value), str(value))
    if dim == "state":
        return catalog.states.get(value, "United States" if value == "US" else str(value))
    return str(value)
