"""Rollups: current figures pre-aggregated over the dimension sets the registry declares.

A rollup keeps the period, the release, the family and a few dimensions, and sums the measures
over the rest; its rows have the fact table's columns (dropped dimensions NULL), so the one query
builder reads either (app/query/build.py picks the smallest that fits). Rebuilt inside the ingest
(and seed) transaction, so they are never out of step with the facts.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, func, insert, literal, select

from app.datasets import DATASETS


def rebuild(conn: Connection, dataset_name: str) -> None:
    """Replace a dataset's rollups with sums of its current facts."""
    dataset = DATASETS[dataset_name]
    if dataset.rollup_table is None:
        return
    fact, table = dataset.table, dataset.rollup_table
    measures = dataset.stored_measures
    conn.execute(delete(table))
    carried = ["release_id", "period", "fiscal_year"]
    if dataset.family_column:
        carried.append(dataset.family_column)
    for dims in dataset.rollups:
        kept = sorted(dataset.rollup_columns(dims))
        keys = [fact.c[c] for c in carried + kept]
        query = (
            select(literal(",".join(dims)), literal(True), *keys,
                   *(func.sum(fact.c[m]) for m in measures))
            .where(fact.c.is_current.is_(True))
            .group_by(*keys)
        )
        conn.execute(insert(table).from_select(
            ["rollup", "is_current", *carried, *kept, *measures], query))
