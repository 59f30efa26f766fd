"""Pre-aggregates of the current figures, so totals over whole tables stay in milliseconds.

A rollup keeps the month, the release and a few dimensions, and sums the measures over the rest.
Its rows have the same columns as the fact table (dropped dimensions NULL), so the one query
builder reads either; it picks the smallest rollup holding every dimension a request uses and
falls back to the facts otherwise. Rollups are rebuilt inside the ingest (and seed) transaction,
so they are never out of step with the facts; an ingest rebuilds only the months (of one encounter
source) whose current figures it changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Table, delete, func, insert, literal, select

from app.models import Encounter, EncounterRollup, Seizure, SeizureRollup

if TYPE_CHECKING:  # the read side imports this module; only the writers need polars
    import polars as pl

# Dimension name -> fact column name.
COLUMN = {"drug": "drug_id", "area": "area_id"}

# What every rollup of a dataset keeps, and the dimensions added one at a time.
_SEIZURE_KEEP = ("component", "region")
_SEIZURE_EXTRA = (("drug",), ("area",), ("land_filter",), ("drug", "land_filter"))
_ENCOUNTER_KEEP = ("component", "region")
_ENCOUNTER_EXTRA = (("state",), ("area",), ("demographic",), ("citizenship",),
                    ("title_of_authority",), ("encounter_type",))


@dataclass(frozen=True)
class Rollup:
    key: str
    dimensions: frozenset[str]


def _rollups(keep: tuple[str, ...], extras: tuple[tuple[str, ...], ...]) -> tuple[Rollup, ...]:
    sets = [keep, *(keep + extra for extra in extras)]
    return tuple(Rollup(",".join(s), frozenset(s)) for s in sets)


ROLLUPS: dict[str, tuple[Rollup, ...]] = {
    "seizures": _rollups(_SEIZURE_KEEP, _SEIZURE_EXTRA),
    "encounters": _rollups(_ENCOUNTER_KEEP, _ENCOUNTER_EXTRA),
}

TABLES: dict[str, tuple[Table, Table, tuple[str, ...]]] = {
    "seizures": (Seizure.__table__, SeizureRollup.__table__, ("event_count", "quantity_lbs")),
    "encounters": (Encounter.__table__, EncounterRollup.__table__, ("encounter_count",)),
}


def best_rollup(dataset: str, used: set[str]) -> Rollup | None:
    """The smallest rollup of `dataset` that keeps every dimension in `used`."""
    fitting = [r for r in ROLLUPS.get(dataset, ()) if used <= r.dimensions]
    return min(fitting, key=lambda r: len(r.dimensions)) if fitting else None


def rebuild(conn: Connection, dataset: str) -> None:
    """Replace a dataset's rollups with sums of its current facts (in SQL)."""
    if dataset not in TABLES:
        return
    fact, table, measures = TABLES[dataset]
    conn.execute(delete(table))
    carried = ["release_id", "period", "fiscal_year"] + (["source"] if "source" in fact.c else [])
    for rollup in ROLLUPS[dataset]:
        kept = [COLUMN.get(d, d) for d in sorted(rollup.dimensions)]
        keys = [fact.c[c] for c in carried + kept]
        query = (
            select(literal(rollup.key), literal(True), *keys,
                   *(func.sum(fact.c[m]) for m in measures))
            .where(fact.c.is_current.is_(True))
            .group_by(*keys)
        )
        conn.execute(insert(table).from_select(
            ["rollup", "is_current", *carried, *kept, *measures], query))


def replace_months(conn: Connection, dataset: str, source: str | None, periods: Iterable[dt.date],
                   current_facts: pl.DataFrame) -> None:
    """Replace the rollup rows of `periods` (of one encounter `source`) with sums of
    `current_facts`: every current fact of those months (a month's current figures are all one
    release's, so the loader has them in hand and the database need not be read again)."""
    months = sorted(set(periods))
    if dataset not in TABLES or not months:
        return
    _, table, _ = TABLES[dataset]
    where = [table.c.period.in_(months)]
    if source is not None and "source" in table.c:
        where.append(table.c.source == source)
    conn.execute(delete(table).where(*where))
    from app.ingest.bulk import insert_frame  # the read side imports this module, never ingest

    insert_frame(conn, table, rollup_rows(dataset, current_facts))


def rollup_rows(dataset: str, current_facts: pl.DataFrame) -> pl.DataFrame:
    """Every rollup of `dataset` computed from current facts (the fact table's columns)."""
    import polars as pl

    fact, _, measures = TABLES[dataset]
    carried = ["release_id", "period", "fiscal_year"] + (["source"] if "source" in fact.c else [])
    dimensions = [c for c in _DIMENSION_COLUMNS[dataset]]
    parts = []
    for rollup in ROLLUPS[dataset]:
        kept = [COLUMN.get(d, d) for d in sorted(rollup.dimensions)]
        sums = (current_facts.group_by(carried + kept, maintain_order=True)
                .agg(pl.col(m).sum() for m in measures))
        parts.append(sums.select(
            pl.lit(rollup.key).alias("rollup"), pl.lit(True).alias("is_current"),
            *(pl.col(c) if c in kept or c in carried or c in measures
              else pl.lit(None, current_facts.schema[c]).alias(c)
              for c in [*carried, *dimensions, *measures])))
    return pl.concat(parts)


_DIMENSION_COLUMNS = {
    "seizures": ("area_id", "drug_id", "component", "region", "land_filter"),
    "encounters": ("component", "region", "area_id", "state", "demographic", "citizenship",
                   "title_of_authority", "encounter_type"),
}
