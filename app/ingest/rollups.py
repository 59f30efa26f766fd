"""Writing rollups: current figures pre-aggregated over the dimension sets the registry declares.

A rollup keeps the period, the release, the family and a few dimensions, and sums the measures
over the rest; its rows have the fact table's columns (dropped dimensions NULL), so the one query
builder reads either (app/query/build.py picks the smallest that fits). Rollups are rebuilt inside
the ingest (and seed) transaction, so they are never out of step with the facts; an ingest
rebuilds only the months (of one family) whose current figures it changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import Connection, delete, func, insert, literal, select

from app.datasets import DATASETS, Dataset

if TYPE_CHECKING:  # only the writers need polars
    import polars as pl


def has_rollups(dataset: str) -> bool:
    return DATASETS[dataset].rollup_table is not None


def _carried(dataset: Dataset) -> list[str]:
    return ["release_id", "period", "fiscal_year"] + (
        [dataset.family_column] if dataset.family_column else [])


def rebuild(conn: Connection, dataset_name: str) -> None:
    """Replace a dataset's rollups with sums of its current facts (in SQL)."""
    dataset = DATASETS[dataset_name]
    if dataset.rollup_table is None:
        return
    fact, table = dataset.table, dataset.rollup_table
    measures = (*dataset.stored_measures, *dataset.stored_parts)
    conn.execute(delete(table))
    carried = _carried(dataset)
    for dims in dataset.rollups:
        kept = sorted(dataset.rollup_columns(dims))
        keys = [fact.c[c] for c in carried + kept]
        query = (select(literal(",".join(dims)), literal(True), *keys,
                        *(func.sum(fact.c[m]) for m in measures))
                 .where(fact.c.is_current.is_(True))
                 .group_by(*keys))
        conn.execute(insert(table).from_select(
            ["rollup", "is_current", *carried, *kept, *measures], query))


def replace_months(conn: Connection, dataset_name: str, family: str | None,
                   periods: Iterable[dt.date], current_facts: pl.DataFrame) -> None:
    """Replace the rollup rows of `periods` (of one family) with sums of `current_facts`: every
    current fact of those months (a month's current figures are all one release's, so the loader
    has them in hand and the database need not be read again)."""
    dataset = DATASETS[dataset_name]
    months = sorted(set(periods))
    if dataset.rollup_table is None or not months:
        return
    table = dataset.rollup_table
    where = [table.c.period.in_(months)]
    if family is not None and dataset.family_column:
        where.append(table.c[dataset.family_column] == family)
    conn.execute(delete(table).where(*where))
    from app.ingest.bulk import insert_frame

    insert_frame(conn, table, rollup_rows(dataset_name, current_facts))


def rollup_rows(dataset_name: str, current_facts: pl.DataFrame) -> pl.DataFrame:
    """Every rollup of a dataset computed from current facts (the fact table's columns)."""
    import polars as pl

    dataset = DATASETS[dataset_name]
    carried = _carried(dataset)
    measures = [*dataset.stored_measures, *dataset.stored_parts]
    dimensions = list(dataset.fact_key)
    parts = []
    for dims in dataset.rollups:
        kept = sorted(dataset.rollup_columns(dims))
        sums = (current_facts.group_by(carried + kept, maintain_order=True)
                .agg(pl.col(m).sum() for m in measures))
        parts.append(sums.select(
            pl.lit(",".join(dims)).alias("rollup"), pl.lit(True).alias("is_current"),
            *(pl.col(c) if c in kept or c in carried or c in measures
              else pl.lit(None, current_facts.schema[c]).alias(c)
              for c in [*carried, *dimensions, *measures])))
    # Rows in the order of the rollup table's widest index (seizures: rollup, drug, month), so
    # the rows one question reads (fentanyl by area) sit on few pages instead of spread out.
    widest = max(dataset.rollup_table.indexes, key=lambda index: (len(index.columns), index.name))
    return pl.concat(parts).sort([c.name for c in widest.columns], nulls_last=True,
                                 maintain_order=True)
