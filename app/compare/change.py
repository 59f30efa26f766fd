"""Change of a measure between two periods, like with like by default: when either period is only
partly in the data, the same months of each are compared."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.compare.figures import Figure, Step
from app.compare.shares import check_measure
from app.errors import UnsupportedCombination
from app.periods import month_text, months_text
from app.query.catalog import Catalog
from app.query.execute import FigureRequest
from app.query.sources import choose_family
from app.query.spec import QuerySpec

CHANGE_RULE = ("absolute_change = after - before; percent_change = (after - before) / before * "
               "100, null when before is zero or either period has no data.")


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
        return {"before": [month_text(m) for m in self.before.months],
                "after": [month_text(m) for m in self.after.months]}


def change(*, catalog: Catalog, before: QuerySpec, after: QuerySpec, measure: str,
           before_text: str, after_text: str, like_for_like: bool = True) -> Step[Change]:
    """Plan the change of `measure` from `before` to `after` (the same filters, two periods)."""
    check_measure(before.dataset, measure, additive=False)
    candidates = _families(catalog, before, after)
    requests = [FigureRequest(spec.with_family(family), measure)
                for family in candidates for spec in (before, after)]

    def finish(found: list[Figure]) -> Change | Step[Change]:
        pairs = [(found[2 * i], found[2 * i + 1]) for i in range(len(candidates))]
        first, second = next(((b, a) for b, a in pairs
                              if b.complete is not False and a.complete is not False), pairs[0])
        partial = [f"{text} ({_months_text(f)})" for text, f in
                   ((before_text, first), (after_text, second))
                   if f.complete is False and f.value is not None]
        if partial and like_for_like and before.dataset.time.unit == "month":
            aligned = aligned_months(first, second)
            if not aligned:
                note = "the periods have no month in common in the data: nothing to compare"
                return _change(first.without_value(note), second.without_value(note), note)
            return _same_months(first, second, aligned, partial)
        note = None
        if partial:
            note = (f"not like for like: {' and '.join(partial)} only partly in the data; "
                    "like_for_like=true compares the same months of each period")
        return _change(first, second, note)

    def _same_months(first: Figure, second: Figure, aligned: list[tuple[dt.date, dt.date]],
                     partial: list[str]) -> Step[Change]:
        narrowed = [first.spec.with_months([b for b, _ in aligned]),
                    second.spec.with_months([a for _, a in aligned])]

        def done(found: list[Figure]) -> Change:
            note = (f"{' and '.join(partial)} only partly in the data: compared the same "
                    f"{len(aligned)} month(s) of each period, {_months_text(found[0], count=False)} "
                    f"and {_months_text(found[1], count=False)}; like_for_like=false gives the raw "
                    "totals")
            return _change(found[0], found[1], note)

        return Step([FigureRequest(spec, measure) for spec in narrowed], done)

    def _change(first: Figure, second: Figure, note: str | None) -> Change:
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
        return Change(before_period=before_text, after_period=after_text, before=first,
                      after=second, absolute_change=absolute, percent_change=percent, note=note,
                      like_for_like=like_for_like)

    return Step(requests, finish)


def _families(catalog: Catalog, before: QuerySpec, after: QuerySpec) -> list[str | None]:
    """Families to try, in order: both periods from one family, the first covering both wholly."""
    dataset = before.dataset
    if (len(dataset.families) <= 1 or before.family
            or dataset.name not in catalog.loaded_datasets):
        return [before.family]
    preferred = [choose_family(spec, catalog).key for spec in (before, after)]
    usable = []
    for key in dict.fromkeys(preferred):
        try:
            choose_family(before.with_family(key), catalog)
            choose_family(after.with_family(key), catalog)
        except UnsupportedCombination:  # this family cannot answer one of the periods
            continue
        usable.append(key)
    return usable or [preferred[0]]


def aligned_months(first: Figure, second: Figure) -> list[tuple[dt.date, dt.date]]:
    """Pairs of months at the same position of two periods that both have in the data."""
    have_first, have_second = set(first.months), set(second.months)
    return [(b, a) for b, a in zip(first.requested, second.requested, strict=False)
            if b in have_first and a in have_second]


def _months_text(figure: Figure, *, count: bool = True) -> str:
    span = months_text(figure.months)
    return f"{span}, {len(figure.months)} month(s)" if count and figure.months else span

