"""What changed between releases: for each figure a newer release replaced, both values.

A revision happens when a release becomes the one answering for a period and the figures differ
from those of the release answering before it (the pair the ingest compared when it recorded the
period as `revised`). For monthly data a release answers for whole months, so within a revised
month a cell only the newer release has has *appeared*, and a cell only the older one has has
*disappeared* (the API no longer serves it). Data settled cell by cell (overdose deaths) are
compared cell by cell: a cell a newer release adds is new, not a revision. Values equal within
the ingest's tolerance (1e-6 absolute or 1e-9 relative for non-integers: one CBP release rounds
them) are not revisions.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.datasets import Dataset, Measure
from app.periods import month_text
from app.query.catalog import Catalog, ReleaseInfo
from app.query.spec import QuerySpec
from app.query.vintage import rank_key

FIXED_COLUMNS = ("dataset", "source", "period")
CHANGE_COLUMNS = ("measure", "older_release", "older_value", "newer_release", "newer_value",
                  "difference", "change")


@dataclass(frozen=True)
class Transition:
    """Release `newer` took over `periods` of family `key` from release `older`."""

    key: str
    older: int
    newer: int
    periods: tuple[dt.date, ...]


@dataclass
class Revisions:
    """Changed figures, one row per cell and measure, and what they were compared within."""

    rows: list[dict[str, Any]]
    columns: list[str]
    transitions: list[Transition]
    releases: list[ReleaseInfo]


def transitions(catalog: Catalog, dataset: Dataset, *, release: int | None = None,
                ) -> list[Transition]:
    """Every (older, newer) handover of revised periods, in load order (monthly data)."""
    releases = catalog.release_by_id
    out: dict[tuple[str, int, int], list[dt.date]] = defaultdict(list)
    for family in dataset.families:
        by_period: dict[dt.date, list[tuple[int, str]]] = defaultdict(list)
        for period, release_id, status in catalog.history.get(family.key, []):
            by_period[period].append((release_id, status))
        for period, versions in by_period.items():
            best: int | None = None
            for release_id, status in sorted(versions):
                wins = best is None or rank_key(releases[release_id]) > rank_key(releases[best])
                if (wins and best is not None and status == "revised"
                        and release in (None, release_id)):
                    out[(family.key, best, release_id)].append(period)
                if wins:
                    best = release_id
    return [Transition(key, older, newer, tuple(sorted(periods)))
            for (key, older, newer), periods in sorted(out.items(), key=lambda i: (i[0][2], i[0][1]))]


def revised_cells_releases(catalog: Catalog, dataset: Dataset, release: int | None) -> list[int]:
    """Releases of a cell-by-cell dataset that revised some figure (per the ingest's record)."""
    return [r.id for r in catalog.releases if r.dataset == dataset.name
            and release in (None, r.id)
            and any(status == "revised" for _, status in catalog.revisions.get(r.id, []))]


def find_revisions(conn_rows: list[Any], spec: QuerySpec, catalog: Catalog,
                   measures: tuple[Measure, ...]) -> list[dict[str, Any]]:
    """Rows as responses write them, from the statement's rows."""
    dataset = spec.dataset
    outputs = [o for d in dataset.stored_dimensions for o in d.shape.outputs]
    out = []
    for raw in conn_rows:
        at = raw._mapping
        head: dict[str, Any] = {"dataset": dataset.name, "source": at["_source"],
                                "period": _period(dataset, at["_period"])}
        for output in outputs:
            value = at[output.label]
            head[output.label] = (output.present(value) if output.present and value is not None
                                  else value)
        for measure in measures:
            older, newer = at[f"_old_{measure.name}"], at[f"_new_{measure.name}"]
            has_old, has_new = at["_n_old"] > 0, at["_n_new"] > 0
            if has_old and has_new and _same(measure, older, newer):
                continue
            change = "revised" if has_old and has_new else ("appeared" if has_new else "disappeared")
            older_value = measure.present(older) if has_old else None
            newer_value = measure.present(newer) if has_new else None
            difference = (measure.present(newer - older)
                          if older is not None and newer is not None else None)
            out.append({**head, "measure": measure.name, "older_release": at["_old_release"],
                        "older_value": older_value, "newer_release": at["_new_release"],
                        "newer_value": newer_value, "difference": difference, "change": change})
    return out


def _same(measure: Measure, older: Any, newer: Any) -> bool:
    if older is None or newer is None:
        return older is None and newer is None
    if measure.integer:
        return older == newer
    spread = abs(float(newer) - float(older))
    return spread <= 1e-6 or spread <= 1e-9 * max(abs(float(older)), abs(float(newer)))


def _period(dataset: Dataset, value: Any) -> Any:
    if dataset.time.unit == "year":
        return int(value)
    day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
    return month_text(day)


def columns(dataset: Dataset) -> list[str]:
    labels = [o.label for d in dataset.stored_dimensions for o in d.shape.outputs]
    return [*FIXED_COLUMNS, *labels, *CHANGE_COLUMNS]


def stored_measures(dataset: Dataset) -> tuple[Measure, ...]:
    return tuple(m for m in dataset.measures if m.column)


def _filters(spec: QuerySpec, catalog: Catalog, fact: Any) -> list[Any]:
    """WHERE: the request's filters and period (no defaults: every cell that changed)."""
    out = []
    for dim in spec.dataset.dimensions:
        given = spec.filters.get(dim.name)
        if given is not None:
            out.append(dim.shape.condition(fact, given.values, catalog))
    out.extend(spec.dataset.time.conditions(spec.period, fact))
    return out


def _outputs(dataset: Dataset, fact: Any) -> tuple[list[Any], dict[Any, Any]]:
    columns, joins = [], {}
    for dim in dataset.stored_dimensions:
        for output in dim.shape.outputs:
            if output.join is not None:
                joins.setdefault(output.join, dim.shape.join_on(fact, output.join))
            columns.append(output.expression(fact).label(output.label))
    return columns, joins


def monthly_statement(spec: QuerySpec, catalog: Catalog, step: Transition) -> Any:
    """Both releases' cells of the handed-over months, side by side (one GROUP BY, no join: a
    cell one release lacks still shows)."""
    dataset = spec.dataset
    fact = dataset.table
    keys = [fact.c[c] for c in dataset.fact_key]
    time = fact.c[dataset.time.column]
    old, new = fact.c.release_id == step.older, fact.c.release_id == step.newer
    sides = [func.count(case((old, 1))).label("_n_old"), func.count(case((new, 1))).label("_n_new")]
    for m in stored_measures(dataset):
        sides += [func.sum(case((old, fact.c[m.column]))).label(f"_old_{m.name}"),
                  func.sum(case((new, fact.c[m.column]))).label(f"_new_{m.name}")]
    family = [fact.c[dataset.family_column] == step.key] if dataset.family_column else []
    cells = (select(time.label("_period"), *keys, *sides)
             .where(fact.c.release_id.in_([step.older, step.newer]), time.in_(step.periods),
                    *family, *_filters(spec, catalog, fact))
             .group_by(time, *keys).subquery())
    return _labelled(dataset, cells, step.key, literal(step.older), literal(step.newer))


def cell_statement(spec: QuerySpec, catalog: Catalog, newer: ReleaseInfo) -> Any:
    """The cells release `newer` took over: each of its cells beside the best-ranked version an
    earlier release had, where `newer` outranks it."""
    dataset = spec.dataset
    fact = dataset.table
    earlier = [r for r in catalog.releases if r.dataset == dataset.name and r.id < newer.id]
    ranks = {r.id: place for place, r in enumerate(sorted(earlier, key=rank_key))}
    outranked = [r.id for r in earlier if rank_key(r) < rank_key(newer)]
    cell = [fact.c[c] for c in dataset.cell_key]
    prior = (select(fact, func.row_number().over(
        partition_by=cell, order_by=case(ranks, value=fact.c.release_id).desc()).label("_place"))
        .where(fact.c.release_id.in_(list(ranks) or [-1])).subquery())
    same_cell = [prior.c[c].is_not_distinct_from(fact.c[c]) for c in dataset.cell_key]
    sides = [literal(1).label("_n_old"), literal(1).label("_n_new")]
    for m in stored_measures(dataset):
        sides += [prior.c[m.column].label(f"_old_{m.name}"),
                  fact.c[m.column].label(f"_new_{m.name}")]
    cells = (select(fact.c[dataset.time.column].label("_period"),
                    *(fact.c[c] for c in dataset.fact_key), *sides,
                    prior.c.release_id.label("_older"))
             .join(prior, and_(*same_cell, prior.c["_place"] == 1))
             .where(fact.c.release_id == newer.id, prior.c.release_id.in_(outranked or [-1]),
                    *_filters(spec, catalog, fact))
             .subquery())
    return _labelled(dataset, cells, dataset.revision_key, cells.c["_older"], literal(newer.id))


def _labelled(dataset: Dataset, cells: Any, key: str, older: Any, newer: Any) -> Any:
    """Names joined on, the releases and the family as columns; only cells that may differ."""
    columns, joins = _outputs(dataset, cells)
    maybe_changed = [cells.c["_n_old"] == 0, cells.c["_n_new"] == 0]
    for m in stored_measures(dataset):
        a, b = cells.c[f"_old_{m.name}"], cells.c[f"_new_{m.name}"]
        maybe_changed += [and_(a.is_(None), b.is_not(None)), and_(a.is_not(None), b.is_(None)),
                          a != b]
    statement = select(literal(key).label("_source"), cells.c["_period"], *columns,
                       older.label("_old_release"), newer.label("_new_release"),
                       cells.c["_n_old"], cells.c["_n_new"],
                       *(cells.c[f"_{side}_{m.name}"] for m in stored_measures(dataset)
                         for side in ("old", "new"))).select_from(cells)
    for table, on in joins.items():
        statement = statement.outerjoin(table, on)
    return statement.where(or_(*maybe_changed))


async def run_revisions(conn: AsyncConnection, spec: QuerySpec, catalog: Catalog, *,
                        release: int | None = None) -> Revisions:
    """Every changed figure the request's filters select (one statement per handover)."""
    dataset = spec.dataset
    statements = []
    steps: list[Transition] = []
    if dataset.revision == "month":
        steps = [s for s in transitions(catalog, dataset, release=release)
                 if spec.family in (None, s.key)
                 and any(spec.period.contains(p) for p in s.periods)]
        statements = [monthly_statement(spec, catalog, s) for s in steps]
    else:
        for release_id in revised_cells_releases(catalog, dataset, release):
            newer = catalog.release_by_id[release_id]
            if any(r.dataset == dataset.name and r.id < newer.id for r in catalog.releases):
                statements.append(cell_statement(spec, catalog, newer))
    measures = stored_measures(dataset)
    rows: list[dict[str, Any]] = []
    for statement in statements:
        rows += find_revisions((await conn.execute(statement)).all(), spec, catalog, measures)
    labels = [o.label for d in dataset.stored_dimensions for o in d.shape.outputs]
    rows.sort(key=lambda r: (r["newer_release"], r["source"], str(r["period"]),
                             *(str(r[label]) for label in labels), r["measure"]))
    involved = {r["older_release"] for r in rows} | {r["newer_release"] for r in rows}
    involved |= {s.older for s in steps} | {s.newer for s in steps}
    return Revisions(rows=rows, columns=columns(dataset), transitions=steps,
                     releases=[catalog.release_by_id[i] for i in sorted(involved)])
