"""Bulk writes inside the caller's transaction: COPY on Postgres, executemany on SQLite."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl
from sqlalchemy import Connection, ForeignKeyConstraint, Index, Table
from sqlalchemy.exc import OperationalError
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex


def insert_frame(conn: Connection, table: Table, frame: pl.DataFrame) -> None:
    """Insert every row of `frame` (its columns named as the table's) into `table`."""
    if frame.is_empty():
        return
    columns = frame.columns
    if conn.dialect.name == "postgresql":
        # One CSV payload: unquoted empty is NULL, "" an empty string; floats round-trip exactly.
        payload = frame.write_csv(include_header=False, null_value="").encode("utf-8")
        raw = conn.connection.driver_connection
        sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN (FORMAT csv)"
        with raw.cursor() as cursor, cursor.copy(sql) as copy:
            copy.write(payload)
        return
    # SQLite keeps dates as ISO text and booleans as 0/1, as SQLAlchemy writes them.
    typed = frame.with_columns(
        *(pl.col(c).dt.strftime("%Y-%m-%d") for c, t in frame.schema.items() if t == pl.Date),
        *(pl.col(c).cast(pl.Int8) for c, t in frame.schema.items() if t == pl.Boolean),
    )
    placeholders = ", ".join("?" for _ in columns)
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.executemany(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({placeholders})",
                           typed.iter_rows())
    finally:
        cursor.close()


def bulk_insert(conn: Connection, table: Table, columns: Sequence[str], rows: list[tuple]) -> None:
    """COPY (Postgres) or executemany (SQLite) rows given as tuples in `columns` order."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        with raw.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
        return
    placeholders = ", ".join("?" for _ in columns)
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.executemany(
            f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({placeholders})",
            ([v.isoformat() if isinstance(v, dt.date) else v for v in row] for row in rows))
    finally:
        cursor.close()


Check = Index | ForeignKeyConstraint


def drop_checks(conn: Connection) -> list[Check]:
    """Drop the indexes of the fact and rollup tables, and on Postgres their foreign keys, before
    filling empty tables; `create_checks` makes them again once every row is in (Postgres'
    advice for populating a database). An index built once is cheaper than one kept up row by
    row, and a foreign key added back checks the whole table in one pass instead of by a trigger
    per row: the same check in the same transaction, so a row naming a missing release, area or
    drug still fails it and nothing is written. SQLite cannot drop a constraint: `seed load`
    turns the connection's keys off before its transaction and checks them all in one pass
    before the commit (app.ingest.snapshot); an ingest keeps them on.

    Only for a database that holds nothing yet, and only if no one is reading it. On Postgres,
    dropping a foreign key also locks the table it names (release, area, drug), and a reader
    locks a fact table and those in its own order, so locks taken drop by drop could deadlock
    with it. Every table is therefore locked at once, first, waiting at most LOCK_WAIT_MS for
    readers; if one is still reading then, nothing is dropped and the load keeps its checks
    (slower, never stuck). Once the locks are held, readers that come wait for the commit.
    Returns what was dropped, for `create_checks`."""
    from app.datasets import DATASETS

    tables = [t for d in DATASETS.values() for t in (d.table, d.rollup_table) if t is not None]
    checks: list[Check] = [i for t in tables for i in sorted(t.indexes, key=lambda i: i.name)]
    if conn.dialect.name == "postgresql":
        keys = [c for t in tables for c in sorted(t.foreign_key_constraints, key=lambda c: c.name)]
        named = sorted({c.referred_table.name for c in keys})
        try:
            with conn.begin_nested():
                conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_WAIT_MS}ms'")
                conn.exec_driver_sql(
                    f"LOCK TABLE {', '.join([*named, *(t.name for t in tables)])} "
                    "IN ACCESS EXCLUSIVE MODE")
                conn.exec_driver_sql("SET LOCAL lock_timeout TO DEFAULT")
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                raise
            return []
        checks += keys
    for check in checks:
        conn.execute(DropIndex(check) if isinstance(check, Index) else DropConstraint(check))
    return checks


LOCK_WAIT_MS = 500
LOCK_NOT_AVAILABLE = "55P03"


def create_checks(conn: Connection, checks: list[Check]) -> None:
    for check in checks:
        # (isolate_from_table=False: by default AddConstraint marks the model's constraint as one
        # CREATE TABLE leaves out, and a database this process creates later from the models,
        # app.ops.migrate, would lack its foreign keys)
        conn.execute(CreateIndex(check) if isinstance(check, Index)
                     else AddConstraint(check, isolate_from_table=False))
