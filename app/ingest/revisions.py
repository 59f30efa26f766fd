"""Which release is current, settled in SQL: months for monthly data, cells for overdose deaths.

A release is ranked by the end, then the start, of the period it covers, then by load order (its
id). For monthly data the unit of revision is (revision key, month): the best-ranked release of a
month is current for every figure of that month (app/ingest/currency.py plans which, per command).
A month's status in a new release: `new` when no release had it, `unchanged` when the figures
equal the current ones cell by cell (quantities within 1e-6 lbs or 1e-9 relative: one CBP
release rounds them), else `revised` (the new release wins) or `superseded` (an older-loaded
release still ranks higher). Overdose deaths are settled cell by cell (year, state, category,
sex), because their files overlap on some cells only.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass

from sqlalchemy import (
    Boolean,
    Connection,
    Table,
    and_,
    case,
    cast,
    func,
    insert,
    or_,
    select,
    update,
)

from app.datasets import DATASETS
from app.models import Release, ReleasePeriod

# Measures compared within a tolerance (one CBP release rounds them): the registry's non-integers.
FLOAT_MEASURES = {m.column for dataset in DATASETS.values() for m in dataset.measures
                  if m.column and not m.integer}
STATUS_ORDER = ("revised", "superseded", "new", "unchanged")


@dataclass
class Settled:
    """A release's status per period, and the periods it became current for."""

    statuses: dict[dt.date, str]
    won: list[dt.date]


def settle_months(conn: Connection, *, fact: Table, key_columns: tuple[str, ...],
                  measures: tuple[str, ...], key: str, release_id: int,
                  rows_per_period: dict[dt.date, int], won: list[dt.date],
                  before: dict[dt.date, int], current_at_end: set[dt.date]) -> Settled:
    """Compare the release with the figures current before it, month by month, and record its
    months (current where it still is when the command ends). Its facts are already inserted."""
    previous: dict[int, list[dt.date]] = defaultdict(list)
    for period, other in before.items():
        previous[other].append(period)
    same: set[dt.date] = set()
    for other, periods in sorted(previous.items()):
        same |= _unchanged_periods(conn, fact, key_columns, measures, release_id, other,
                                   sorted(periods))
    won_set = set(won)
    statuses = {}
    for period in sorted(rows_per_period):
        if period not in before:
            statuses[period] = "new"
        elif period in same:
            statuses[period] = "unchanged"
        else:
            statuses[period] = "revised" if period in won_set else "superseded"
    conn.execute(insert(ReleasePeriod), [
        {"release_id": release_id, "period": p, "revision_key": key, "row_count": rows_per_period[p],
         "status": statuses[p], "is_current": p in current_at_end}
        for p in sorted(rows_per_period)
    ])
    return Settled(statuses, won)


def _unchanged_periods(conn: Connection, fact: Table, key_columns: tuple[str, ...],
                       measures: tuple[str, ...], release_id: int, other_id: int,
                       periods: list[dt.date]) -> set[dt.date]:
    """Periods whose every cell is in both releases, with equal values.

    One GROUP BY over the two releases' rows: a cell matches when it appears twice (once in
    each) with its measures equal (NULLs group together, so no join is needed)."""
    keys = [fact.c[c] for c in key_columns]
    spreads = []
    for m in measures:
        spreads += [func.min(fact.c[m]).label(f"lo_{m}"), func.max(fact.c[m]).label(f"hi_{m}"),
                    func.count(fact.c[m]).label(f"n_{m}")]
    cells = (select(fact.c.period, func.count().label("n"), *spreads)
             .where(fact.c.period.in_(periods), fact.c.release_id.in_([release_id, other_id]))
             .group_by(fact.c.period, *keys).subquery())
    equal = [cells.c.n == 2]
    for m in measures:
        equal.append(_equal(cells.c[f"lo_{m}"], cells.c[f"hi_{m}"], cells.c[f"n_{m}"], m))
    rows = conn.execute(
        select(cells.c.period, func.count(),
               func.sum(case((and_(*equal), 1), else_=0)))
        .group_by(cells.c.period)
    ).all()
    return {_as_date(period) for period, total, matched in rows if total == matched}


def _equal(lo, hi, n, measure: str):
    """Both values NULL, or both set and equal (floats within 1e-6 absolute or 1e-9 relative)."""
    both_null = n == 0
    if measure not in FLOAT_MEASURES:
        return or_(both_null, and_(n == 2, lo == hi))
    spread = hi - lo
    close = or_(spread <= 1e-6, spread <= 1e-9 * func.abs(hi), spread <= 1e-9 * func.abs(lo))
    return or_(both_null, and_(n == 2, close))


def _as_date(value: object) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


# --- overdose deaths: cell by cell ----------------------------------------------------------------

def settle_cells(conn: Connection, *, fact: Table, release_id: int, key_columns: tuple[str, ...],
                 measures: tuple[str, ...], key: str) -> Settled:
    """Rank every version of the release's cells, flag the best current, report per year (the
    first key column is the year)."""
    cell = tuple(fact.c[c] for c in key_columns)
    mine = case((fact.c.release_id == release_id, 1), else_=0)
    # Window functions only (no join): NULL states partition together, as in GROUP BY.
    ranked = (
        select(fact.c.id, fact.c.release_id, fact.c.is_current, *cell,
               func.row_number().over(
                   partition_by=cell,
                   order_by=(Release.period_end.desc(), Release.period_start.desc(),
                             Release.id.desc())).label("place"),
               func.max(mine).over(partition_by=cell).label("has_mine"))
        .join(Release, Release.id == fact.c.release_id)
        .subquery()
    )
    winners = conn.execute(
        select(ranked.c.id, ranked.c.release_id, *(ranked.c[c] for c in key_columns),
               ranked.c.place, ranked.c.is_current)
        .where(ranked.c.has_mine == 1)
    ).all()
    won_cells = {tuple(r[2:2 + len(key_columns)]): r.release_id == release_id
                 for r in winners if r.place == 1}
    spreads = []
    for m in measures:
        spreads += [func.min(fact.c[m]).label(f"lo_{m}"), func.max(fact.c[m]).label(f"hi_{m}"),
                    func.count(fact.c[m]).label(f"n_{m}")]
    before = (
        select(*cell, func.count().label("n"), *spreads)
        .where(or_(fact.c.release_id == release_id, fact.c.is_current.is_(True)))
        .group_by(*cell).having(func.max(mine) == 1).subquery()
    )
    same = and_(*(_equal(before.c[f"lo_{m}"], before.c[f"hi_{m}"], before.c[f"n_{m}"], m)
                  for m in measures))
    compared = conn.execute(select(*(before.c[c] for c in key_columns), before.c.n,
                                   cast(same, Boolean))).all()

    seen: dict[int, set[str]] = defaultdict(set)
    cells_per_year: Counter[int] = Counter()
    current_years: set[int] = set()
    for row in compared:
        cell_key, n, equal = tuple(row[:len(key_columns)]), row[-2], row[-1]
        year = cell_key[0]
        wins = won_cells[cell_key]
        if n == 1:
            status = "new"
        elif equal:
            status = "unchanged"
        else:
            status = "revised" if wins else "superseded"
        seen[year].add(status)
        cells_per_year[year] += 1
        if wins:
            current_years.add(year)

    # Flip only the versions whose flag is wrong (the previous winner off, the new one on).
    for flag in (True, False):
        ids = [r.id for r in winners if (r.place == 1) == flag and bool(r.is_current) != flag]
        if ids:
            conn.execute(update(fact).where(fact.c.id.in_(ids)).values(is_current=flag))
    statuses = {dt.date(year, 1, 1): next(s for s in STATUS_ORDER if s in found)
                for year, found in seen.items()}
    conn.execute(insert(ReleasePeriod), [
        {"release_id": release_id, "period": p, "revision_key": key,
         "row_count": cells_per_year[p.year], "status": s, "is_current": p.year in current_years}
        for p, s in sorted(statuses.items())
    ])
    return Settled(statuses, [p for p in sorted(statuses) if p.year in current_years])
