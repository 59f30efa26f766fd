"""Shares: a part as a share of its base, sum(part) / sum(base), never a mean of ratios.

The part is counted within the base and the base within the common filters: numerator = common +
base + part, denominator = common + base, both from one release family. A part published in fewer
months than its base is divided by the base of those months (like with like).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlencode

from app.compare.figures import Figure, Step
from app.errors import InvalidParameter, UnsupportedCombination
from app.periods import months_text
from app.query.catalog import Catalog
from app.query.execute import FigureRequest
from app.query.sources import choose_family
from app.query.spec import Filter, QuerySpec

SHARE_RULE = ("share = sum of the measure over the part / sum over the base, both from one "
              "source and one query each; never a mean of ratios. A zero base gives a null share.")

Layer = Mapping[str, Filter]


@dataclass(frozen=True)
class Ratio:
    value: float | None
    note: str | None


def ratio(numerator: float | int | None, denominator: float | int | None) -> Ratio:
    """Divide two sums; null with a reason when either is missing or the base is zero."""
    if numerator is None or denominator is None:
        return Ratio(None, "no data for the period: the share is null")
    if denominator == 0:
        return Ratio(None, "the base is zero for the period: a share of nothing is undefined")
    return Ratio(numerator / denominator, None)


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
    part: Layer
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
class ShareRequest:
    """What a share request says, as it was written (for the request that reproduces it)."""

    common: list[tuple[str, str]]
    base: list[tuple[str, str]]
    part: list[tuple[str, str]]

    def url(self, path: str, measure: str) -> str:
        """The share request as written (a claim's live as long as its plan: each URL is
        written once)."""
        written: dict[tuple[str, str], str] = self.__dict__.setdefault("_urls", {})
        url = written.get((path, measure))
        if url is None:
            items = [("measure", measure), *self.common]
            items += [(f"part_{k}", v) for k, v in self.part]
            items += [(f"base_{k}", v) for k, v in self.base]
            url = written[(path, measure)] = f"{path}?{urlencode(items, safe=',')}"
        return url


def shares(*, catalog: Catalog, common: QuerySpec, base: Layer, parts: Sequence[Layer],
           measure: str, labels: tuple[str, str, str] = ("{}", "base_{}", "part_{}"),
           breakdown: bool = True, written: Sequence[ShareRequest] | None = None) -> Step[list[Share]]:
    """Plan several parts as shares of one base, every figure from one family."""
    dataset = common.dataset
    check_measure(dataset, measure, additive=True)
    _, base_label, part_label = labels
    for part in parts:
        if not part:
            raise InvalidParameter(part_label.format("").rstrip("_.") or "part", None,
                                   "the part is empty: give at least one part filter, e.g. "
                                   "part_area=san-diego-field-office")
    denominator = common.narrow(base, catalog=catalog, label=base_label)
    numerators = [denominator.narrow(part, catalog=catalog, label=part_label) for part in parts]
    family = _one_family(catalog, denominator, numerators)
    if family is not None:
        denominator = denominator.with_family(family)
        numerators = [n.with_family(family) for n in numerators]
    plans = [_PartPlan(part, numerator, _members(catalog, numerator, part) if breakdown else [])
             for part, numerator in zip(parts, numerators, strict=True)]
    requests = [FigureRequest(denominator, measure)]
    for plan in plans:
        requests += [FigureRequest(plan.numerator, measure),
                     *(FigureRequest(m, measure) for m in plan.members)]

    def finish(found: list[Figure]) -> list[Share] | Step[list[Share]]:
        base_figure, rest = found[0], iter(found[1:])
        out, redo = [], []
        for index, plan in enumerate(plans):
            numerator = next(rest)
            member_figures = [next(rest) for _ in plan.members]
            months = numerator.months
            if months and set(months) != set(base_figure.months):
                redo.append((index, sorted(set(months) & set(base_figure.months))))
            out.append(_share(catalog, dataset.share_path, measure, plan, numerator, base_figure,
                              member_figures, written[index] if written else None))
        if not redo:
            return out
        return _like_for_like(catalog, denominator, plans, redo, out, measure, dataset.share_path,
                              written)

    return Step(requests, finish)


@dataclass(frozen=True)
class _PartPlan:
    part: Layer
    numerator: QuerySpec
    members: list[QuerySpec]


def _share(catalog: Catalog, path: str | None, measure: str, plan: _PartPlan, numerator: Figure,
           denominator: Figure, members: list[Figure], written: ShareRequest | None,
           note: str | None = None) -> Share:
    quotient = ratio(numerator.value, denominator.value)
    member_shares = []
    if numerator.value is not None:
        single = len(plan.part) == 1 and not _stands_for(plan)
        for spec, figure in zip(plan.members, members, strict=True):
            if figure.value is None and not single:
                continue  # a combination (or an area standing for a state) with no row
            member_shares.append(_member_share(catalog, plan, spec, figure, denominator.value))
    return Share(dataset=plan.numerator.dataset.name, measure=measure, part=plan.part,
                 numerator=numerator, denominator=denominator, value=quotient.value,
                 note="; ".join(n for n in (note, quotient.note) if n) or None,
                 members=tuple(member_shares),
                 request=catalog.pin(written.url(path, measure)) if written and path else None)


def _like_for_like(catalog: Catalog, denominator: QuerySpec, plans: list[_PartPlan],
                   redo: list[tuple[int, list[dt.date]]], done: list[Share], measure: str,
                   path: str | None, written: Sequence[ShareRequest] | None) -> Step[list[Share]]:
    """Parts published in fewer months than the base: part and base over the same months."""
    requests, narrowed = [], []
    for index, months in redo:
        plan = plans[index]
        again = _PartPlan(plan.part, plan.numerator.with_months(months),
                          [m.with_months(months) for m in plan.members])
        base = denominator.with_months(months)
        narrowed.append((index, again, months))
        requests += [FigureRequest(base, measure), FigureRequest(again.numerator, measure),
                     *(FigureRequest(m, measure) for m in again.members)]

    def finish(found: list[Figure]) -> list[Share]:
        out = list(done)
        rest = iter(found)
        for index, plan, months in narrowed:
            base, numerator = next(rest), next(rest)
            members = [next(rest) for _ in plan.members]
            first = done[index].numerator.months
            note = (f"the part is published for {months_text(first)} only: the base is counted over "
                    f"the same {len(months)} month(s)")
            out[index] = _share(catalog, path, measure, plan, numerator, base, members,
                                written[index] if written else None, note)
        return out

    return Step(requests, finish)


def _member_share(catalog: Catalog, plan: _PartPlan, spec: QuerySpec, figure: Figure,
                  base: float | int | None) -> MemberShare:
    dims = _member_dimensions(plan)
    shown, names = [], []
    for dim in dims:
        dimension = spec.dataset.dimension(dim)
        value = spec.filters[dim].values[0]
        shown.append(str(dimension.values.show(value, catalog)))
        names.append(dimension.values.display_name(value, catalog))
    return MemberShare(member=" / ".join(shown), name=" / ".join(names), value=figure.value,
                       share=ratio(figure.value, base).value,
                       request=catalog.pin(spec.to_url()))


def _stands_for(plan: _PartPlan) -> bool:
    dataset = plan.numerator.dataset
    return any(dataset.dimension(d).shape.stands_for for d in plan.part)


def _member_dimensions(plan: _PartPlan) -> list[str]:
    dataset = plan.numerator.dataset
    dims = []
    for dim in plan.part:
        target = dataset.dimension(dim).shape.stands_for or dim
        if target not in dims:
            dims.append(target)
    return dims


def _members(catalog: Catalog, numerator: QuerySpec, part: Layer) -> list[QuerySpec]:
    """One spec per member of the part: each area of part_area=a,b (for a dimension standing for
    another, such as a seizure's state, each area it covers); combinations for several."""
    dataset = numerator.dataset
    axes: dict[str, list] = {}
    for dim, given in part.items():
        shape = dataset.dimension(dim).shape
        if shape.stands_for:
            axes.setdefault(shape.stands_for, []).extend(shape.members(given.values, catalog))
        else:
            axes.setdefault(dim, []).extend(given.values)
    # A member stands in for the part's own filters (a state's area replaces the state).
    kept = {dim: f for dim, f in numerator.filters.items() if dim not in part and dim not in axes}
    members = []
    for combination in itertools.product(*(dict.fromkeys(v) for v in axes.values())):
        filters = {}
        for dim, value in zip(axes, combination, strict=True):
            values = dataset.dimension(dim).values
            written = values.written(value, catalog)
            filters[dim] = Filter((value,), (values.show(value, catalog),), dim, written, (written,))
        members.append(replace(numerator, filters={**kept, **filters}))
    return members


def _one_family(catalog: Catalog, denominator: QuerySpec, numerators: list[QuerySpec]) -> str | None:
    """The one family that answers every part and the base (encounters have several)."""
    dataset = denominator.dataset
    if len(dataset.families) <= 1 or dataset.name not in catalog.loaded_datasets:
        return None
    union: dict[str, Filter] = {}
    for spec in numerators:
        for dim, given in spec.filters.items():
            if dim in union:
                values = tuple(dict.fromkeys((*union[dim].values, *given.values)))
                shown = tuple(dict.fromkeys((*union[dim].shown, *given.shown)))
                given = replace(given, values=values, shown=shown)
            union[dim] = given
    family = choose_family(replace(numerators[0], filters=union), catalog).key
    try:
        choose_family(denominator.with_family(family), catalog)
    except UnsupportedCombination as exc:
        problem = exc.message.removeprefix(f"source {family} ")
        raise UnsupportedCombination(
            f"part and base must come from one release family; only {family} answers the part, "
            f"and it cannot answer the base: it {problem}", source=family,
            combinable=exc.details.get("combinable")) from None
    return family


def check_measure(dataset, measure: str, *, additive: bool) -> None:
    names = [m.name for m in dataset.measures if m.additive or not additive]
    if measure not in names:
        reason = ("cannot be summed into a share" if dataset.measure(measure) is not None
                  else "is unknown")
        raise InvalidParameter("measure", measure, f"measure {measure!r} {reason} for "
                               f"{dataset.name}", names)

