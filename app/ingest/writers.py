"""The writers' lock: one writer at a time (ingests, seed loads, rollups written after a start).

Kept apart from the loader so a server that only writes absent rollups (app.ingest.rollups)
takes it without importing the parsers and polars.
"""

from __future__ import annotations

from sqlalchemy import Connection

INGEST_LOCK_ID = 0x626F7264  # an arbitrary constant: serialises concurrent ingests on Postgres


def lock_for_writing(conn: Connection) -> None:
    """Serialise writers: a second ingest waits for the running one, then sees its releases."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({INGEST_LOCK_ID})")
    elif conn.dialect.name == "sqlite" and not conn.connection.driver_connection.in_transaction:
        # Take SQLite's write lock now, before the first read, instead of at the first write.
        conn.exec_driver_sql("BEGIN IMMEDIATE")
