"""Figures and the steps that compute them in batches.

A comparison or a claim is planned as `Step`s: the figures it needs (each a spec and a measure)
and what to make of them. `compute` runs every pending step's figures in one SQL statement per
round; a step may answer with a follow-up step (like-for-like months), which runs in the next round.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from app.query.catalog import Catalog, ReleaseInfo
from app.query.execute import FigureRequest, figures
from app.query.result import QueryResult
from app.query.spec import QuerySpec

T = TypeVar("T")


@dataclass(frozen=True)
class Figure:
    """One aggregated number, the request that reproduces it and the releases behind it."""

    value: float | int | None
    request: str
    filters: dict[str, Any]
    source: str | None
    releases: tuple[ReleaseInfo, ...]
    complete: bool
    note: str | None = None
    caveats: tuple[str, ...] = ()
    # Monthly data: the months the period asks for, and those the value adds up.
    requested: tuple[dt.date, ...] = ()
    months: tuple[dt.date, ...] = ()
    period: dict[str, Any] | None = None
    spec: QuerySpec | None = field(default=None, compare=False, repr=False)

    def document(self) -> dict[str, Any]:
        return {
            "value": self.value, "request": self.request, "filters": self.filters,
            "source": self.source,
            "releases": [{"id": r.id, "file_name": r.file_name} for r in self.releases],
            "complete": self.complete, "period": self.period, "note": self.note,
        }

    def without_value(self, note: str) -> Figure:
        return replace(self, value=None, note=note)


def _described(spec: QuerySpec, catalog: Catalog) -> tuple[str, dict[str, Any]]:
    """The request reproducing a figure and its filters as understood: the same for every
    request of a data version, so a spec kept with a claim's plan keeps them (for this catalog
    only). The filters are shared by the figures of the spec: read, never changed."""
    found = spec.__dict__.get("_described")
    if found is None or found[0] is not catalog:
        found = (catalog, catalog.pin(spec.to_url()), spec.understood(catalog))
        object.__setattr__(spec, "_described", found)
    return found[1], found[2]


def figure_of(result: QueryResult, measure: str, catalog: Catalog) -> Figure:
    spec = result.spec
    value = result.rows[0].get(measure) if result.rows else None
    request, filters = _described(spec, catalog)
    return Figure(
        value=value, request=request, filters=filters,
        source=result.family.key, releases=tuple(result.releases), complete=result.complete,
        note=None if value is not None else "the loaded releases have no data for this period",
        caveats=tuple(result.caveats), requested=result.requested, months=result.months,
        period=result.summed.document() if result.summed else None, spec=spec)


def empty_figure(spec: QuerySpec, catalog: Catalog) -> Figure:
    """A figure of a dataset no release of which is loaded: no data, said so."""
    return Figure(value=None, request=catalog.pin(spec.to_url()),
                  filters=spec.understood(catalog), source=None, releases=(), complete=False,
                  note=f"no release of {spec.dataset.title} is loaded",
                  spec=spec)


@dataclass
class Step(Generic[T]):
    """Figures to compute, and what to make of them (a result, or a follow-up step)."""

    requests: Sequence[FigureRequest]
    finish: Callable[[list[Figure]], T | Step[T]]


def combine(steps: Sequence[Step[Any]], finish: Callable[[list[Any]], T | Step[T]]) -> Step[T]:
    """One step running several: their figures in the same rounds, `finish` on their results."""
    counts = [len(step.requests) for step in steps]

    def done(found: list[Figure]) -> T | Step[T]:
        outcomes, offset = [], 0
        for step, count in zip(steps, counts, strict=True):
            outcomes.append(step.finish(found[offset:offset + count]))
            offset += count
        if any(isinstance(o, Step) for o in outcomes):
            return combine([o if isinstance(o, Step) else _settled(o) for o in outcomes], finish)
        return finish(outcomes)

    return Step([r for step in steps for r in step.requests], done)


def _settled(value: Any) -> Step[Any]:
    return Step([], lambda _found: value)


def has_releases(catalog: Catalog, dataset: str) -> bool:
    return dataset in catalog.loaded_datasets


async def compute(conn: AsyncConnection, catalog: Catalog, steps: Sequence[Step[Any]], *,
                  reuse: bool = False) -> list[Any]:
    """Run steps to their results: one statement per round for every pending step's figures.
    `reuse`: the steps are kept for this data version (a registered claim's), so the first
    round's batch is prepared once (later rounds' steps are made anew each time)."""
    results: list[Any] = [None] * len(steps)
    pending = list(enumerate(steps))
    first = True
    while pending:
        loaded = [r for _, step in pending for r in step.requests
                  if has_releases(catalog, r.spec.dataset.name)]
        computed = iter(await figures(conn, loaded, catalog, reuse=reuse and first))
        first = False
        following = []
        for index, step in pending:
            values = [figure_of(next(computed), r.measure, catalog)
                      if has_releases(catalog, r.spec.dataset.name) else empty_figure(r.spec, catalog)
                      for r in step.requests]
            outcome = step.finish(values)
            if isinstance(outcome, Step):
                following.append((index, outcome))
            else:
                results[index] = outcome
        pending = following
    return results


async def compute_one(conn: AsyncConnection, catalog: Catalog, step: Step[T]) -> T:
    (result,) = await compute(conn, catalog, [step])
    return result


def total(spec: QuerySpec, measure: str) -> Step[Figure]:
    """One figure."""
    return Step([FigureRequest(spec, measure)], lambda found: found[0])
