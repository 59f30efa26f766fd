"""Writing rollups: current figures pre-aggregated over the dimension sets the registry declares.

A rollup keeps the period, the release, the family and a few dimensions, and sums the measures
over the rest; its rows have the fact table's columns (dropped dimensions NULL), so the one query
builder reads either (app/query/build.py picks the smallest that fits). Rollups are rebuilt inside
the ingest transaction, so they are never out of step with the facts; an ingest rebuilds only the
months (of one family) whose current figures it changed.

A rollup is either whole or absent: queries read only the rollups that hold rows (the catalog
probes each, app/query/catalog.py) and the facts otherwise, with the same answers (to the last
bit: fractional measures are summed from exact integer parts, app/datasets/base.py `exact_sum`).
`serve` on an empty database loads the snapshot's facts first and leaves the rollups to
`complete`, run in a thread while the server starts and answers (and by `borderstats db
upgrade`); it writes every absent rollup of a dataset in one transaction (also those a start
interrupted, or a rollup declared after the data was loaded). An ingest that finds a rollup
absent writes the dataset's rollups whole (`absent_beside`), never only the months it changed.
Written whole, rollups are summed in SQL (`rebuild`): in the database, not in Python beside the
server's first answers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, delete, false, func, insert, literal, or_, select, true

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


def absent(conn: Connection, dataset_name: str) -> list[str]:
    """The declared rollups of a dataset that hold no rows, in declared order."""
    dataset = DATASETS[dataset_name]
    probes = dataset.rollups_present()
    if probes is None:
        return []
    present = set(conn.execute(probes).scalars())
    return [name for name in (",".join(dims) for dims in dataset.rollups) if name not in present]


def incomplete(conn: Connection) -> list[str]:
    """The datasets whose current facts some declared rollup does not sum yet (it holds no rows
    while the dataset holds current facts): what `complete` would write."""
    out = []
    for name, dataset in DATASETS.items():
        if absent(conn, name) and conn.execute(
                select(dataset.table.c.id).where(dataset.table.c.is_current.is_(True))
                .limit(1)).first() is not None:
            out.append(name)
    return out


def complete(engine: Engine) -> list[str]:
    """Write the rollups of every dataset that lacks some (`incomplete`), each whole (`rebuild`),
    in one transaction. With none absent it returns at once, taking no lock (`db upgrade` runs
    it on every deploy); otherwise it waits for a running ingest (the writers' lock) and looks
    again once it holds the lock, so two starts write them once. The data version stays: no
    figure changes, and the servers' catalogs look for absent rollups until they find them
    (app.query.catalog.CatalogCache). Returns the datasets whose rollups it wrote."""
    from app.db import lock_for_writing

    with engine.connect() as conn:
        if not incomplete(conn):  # the usual case: no lock taken, so no wait behind an ingest
            return []
    with engine.connect() as conn, conn.begin():
        lock_for_writing(conn)
        datasets = incomplete(conn)
        for name in datasets:
            rebuild(conn, name)
    return datasets


def absent_beside(conn: Connection, dataset_name: str,
                  months: dict[str | None, set[dt.date]]) -> bool:
    """Whether a declared rollup of the dataset holds no rows while facts other than the months
    (of each family) in `months` are current: an ingest that replaced only those months' rollup
    rows would leave sums of them passing for the whole rollup, so it writes them whole
    (`rebuild`)."""
    dataset = DATASETS[dataset_name]
    if not absent(conn, dataset_name):
        return False
    fact = dataset.table
    touched = [fact.c.period.in_(sorted(periods))
               & (fact.c[dataset.family_column] == family
                  if family is not None and dataset.family_column else true())
               for family, periods in months.items() if periods]
    elsewhere = select(fact.c.id).where(fact.c.is_current.is_(True), ~or_(false(), *touched))
    return conn.execute(elsewhere.limit(1)).first() is not None


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
