"""Database URLs, engines and the declarative base."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from app.config import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class DatabaseURLError(ValueError):
    """DATABASE_URL is not a form the project understands."""


# user:secret@ anywhere, with or without a well-formed scheme before it
_PASSWORD_BEFORE_AT = re.compile(r"(:)[^:@/\s]+(@)")


def mask_password(raw: str) -> str:
    """Hide a password in a URL that may not even parse (`postgresql//user:secret@host/db`)."""
    return _PASSWORD_BEFORE_AT.sub(r"\1***\2", raw)


@dataclass(frozen=True)
class DatabaseURLs:
    """The sync URL (ingest, migrations, CLI) and async URL (API) for one database."""

    sync: URL
    async_: URL

    @property
    def backend(self) -> str:
        return self.sync.get_backend_name()

    def safe(self) -> str:
        """Render the URL with any password hidden (also `?password=`), for logs and messages."""
        url = self.sync
        if "password" in url.query:
            url = url.update_query_dict({"password": "***"})
        return url.render_as_string(hide_password=True)


def database_urls(raw: str | None, *, sqlite_path: Path | None = None) -> DatabaseURLs:
    """Turn a pasted URL (postgres://, postgresql://, sqlite:///) into the project's drivers."""
    if not raw:
        path = Path(sqlite_path or ".borderstats/borderstats.db")
        raw = f"sqlite:///{path}"
    text = raw.strip()
    if text.startswith("postgres://"):
        text = "postgresql://" + text[len("postgres://") :]
    try:
        url = make_url(text)
    except (ArgumentError, ValueError) as exc:
        reason = "its port is not a number" if isinstance(exc, ValueError) else "not a database URL"
        # from None: the parser's own message would repeat the URL, password included
        raise DatabaseURLError(
            f"DATABASE_URL {mask_password(raw)!r}: {reason}; use postgresql://user@host:5432/db "
            "or sqlite:///path.db"
        ) from None
    backend = url.get_backend_name()
    if backend == "postgresql":
        sync = url.set(drivername="postgresql+psycopg")
        return DatabaseURLs(sync=sync, async_=sync)
    if backend == "sqlite":
        if url.database in (None, "", ":memory:"):
            raise DatabaseURLError(
                "an in-memory SQLite database cannot be shared between ingest and the API; "
                "give a file path: sqlite:///path.db"
            )
        return DatabaseURLs(
            sync=url.set(drivername="sqlite+pysqlite"),
            async_=url.set(drivername="sqlite+aiosqlite"),
        )
    raise DatabaseURLError(
        f"DATABASE_URL uses {backend!r}; borderstats supports postgresql:// and sqlite:///"
    )


def urls_from_settings(settings: Settings) -> DatabaseURLs:
    return database_urls(settings.database_url, sqlite_path=settings.sqlite_path)


def read_urls_from_settings(settings: Settings) -> DatabaseURLs:
    """The database the API reads: DATABASE_READ_URL (a replica) when set, else DATABASE_URL."""
    if settings.database_read_url:
        try:
            return database_urls(settings.database_read_url)
        except DatabaseURLError as exc:
            raise DatabaseURLError(str(exc).replace("DATABASE_URL", "DATABASE_READ_URL", 1)) from None
    return urls_from_settings(settings)


def _sqlite_pragmas(timeout: float):
    def on_connect(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        # Wait this long for another writer (an ingest) instead of failing at once.
        cursor.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        cursor.close()

    return on_connect


def _ensure_sqlite_dir(url: URL) -> None:
    if url.database:
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def make_sync_engine(urls: DatabaseURLs, *, timeout: float = 30.0) -> Engine:
    """Create the engine used by ingest, seed and migrations."""
    if urls.backend == "sqlite":
        _ensure_sqlite_dir(urls.sync)
        engine = create_engine(urls.sync, connect_args={"timeout": timeout})
        event.listen(engine, "connect", _sqlite_pragmas(timeout))
        return engine
    return create_engine(
        urls.sync, pool_pre_ping=True, connect_args={"connect_timeout": max(1, int(timeout))}
    )


def make_async_engine(urls: DatabaseURLs, *, pool_size: int = 5, timeout: float = 3.0,
                      pool_wait: float | None = None) -> AsyncEngine:
    """Create the engine the API reads through; bounded waits so an outage fails fast.

    `timeout` bounds connecting and each statement; `pool_wait` (default: `timeout`) how long a
    request queues for a pooled connection. A burst of requests should queue, not fail: the API
    passes its request deadline here, which already bounds the whole request."""
    if urls.backend == "sqlite":
        _ensure_sqlite_dir(urls.async_)
        engine = create_async_engine(urls.async_, connect_args={"timeout": timeout})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(timeout))
        return engine
    statement_ms = int(timeout * 1000)
    return create_async_engine(
        urls.async_,
        pool_size=pool_size,
        # No overflow: connections beyond the pool were opened for one request and closed after
        # it, a new connection (and a Postgres backend) per request under load, which cost the
        # worker more CPU than the query. A burst queues for a pooled connection instead.
        max_overflow=0,
        pool_timeout=pool_wait if pool_wait is not None else timeout,
        # Reads run outside transactions: no BEGIN before and no ROLLBACK after each request (two
        # round trips saved). Under Postgres' default READ COMMITTED every statement takes its own
        # snapshot anyway; what needs one snapshot across statements (a download, the catalog)
        # asks for a REPEATABLE READ transaction itself.
        isolation_level="AUTOCOMMIT",
        # No pre-ping: it costs a round trip per request. A connection lost in an outage fails
        # one request (503), which invalidates the pool; the next request reconnects.
        pool_pre_ping=False,
        pool_recycle=1800,
        connect_args={
            "connect_timeout": max(1, int(timeout)),
            "options": f"-c statement_timeout={statement_ms} -c default_transaction_read_only=on",
        },
    )


# --- the writers' lock ---------------------------------------------------------------------------
# One writer at a time: ingests, seed loads, the rollups written after a start, and the creation
# of a new database's schema (app.ops.migrate). Here, beside the engines, so a server that only
# writes absent rollups takes it without importing the parsers and polars.

INGEST_LOCK_ID = 0x626F7264  # an arbitrary constant: serialises concurrent ingests on Postgres


def lock_for_writing(conn: Connection) -> None:
    """Serialise writers: a second ingest (or a second start creating a new database's schema)
    waits for the running one, then sees what it wrote."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({INGEST_LOCK_ID})")
    elif conn.dialect.name == "sqlite" and not conn.connection.driver_connection.in_transaction:
        # Take SQLite's write lock now, before the first read, instead of at the first write.
        conn.exec_driver_sql("BEGIN IMMEDIATE")
