"""Statements run on the driver's own connection (app.query.execute.driver_rows, Postgres) keep
what SQLAlchemy's execution did with the outcome: the same rows, the DBAPIError SQLAlchemy would
raise for a driver error, a lost connection invalidating the pool, `after_cursor_execute` fired
for a statement that ran (the outage log listens to it)."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DataError, DBAPIError

from app.db import database_urls, make_async_engine
from app.query.execute import driver_rows

# Read in the binary format by driver_rows, in the text format by SQLAlchemy's execution.
SQL = ("SELECT n, n * 0.5 AS half, 'row ' || n AS label, DATE '2024-01-01' + n AS day, "
       "n * 1.25::float8 AS ratio, n > 1 AS more, CAST(n AS bigint) * 10000000000 AS big "
       "FROM generate_series(1, 3) AS n ORDER BY n")


@pytest.fixture
def pg_url(backend: str, database_url: str) -> str:
    if backend != "postgres":
        pytest.skip("driver_rows runs psycopg's SQL: Postgres only (SQLite goes through SQLAlchemy)")
    return database_url


def _run(coroutine):
    return asyncio.run(coroutine)


def test_sql_without_parameters_is_sent_as_sqlalchemy_sends_it(pg_url: str) -> None:
    """SQL compiled with its values in it (a batch of figures) has each `%` doubled for psycopg;
    with no parameters it must still be read as psycopg's SQL (one `%`), as exec_driver_sql
    reads it, or a value with a `%` would match nothing and the modulo operator would fail."""
    sql = "SELECT 'under 1%%' AS label, 17 %% 12 AS remainder"

    async def scenario():
        engine = make_async_engine(database_urls(pg_url))
        try:
            async with engine.connect() as conn:
                expected = await conn.exec_driver_sql(sql)
                return await driver_rows(conn, sql), (list(expected.keys()), expected.all())
        finally:
            await engine.dispose()

    (names, rows), (expected_names, expected_rows) = _run(scenario())
    assert rows == [("under 1%", 5)] == [tuple(r) for r in expected_rows]
    assert names == expected_names == ["label", "remainder"]


def test_rows_and_names_are_sqlalchemys_and_the_event_fires(pg_url: str) -> None:
    async def scenario():
        engine = make_async_engine(database_urls(pg_url))
        fired: list[str] = []
        event.listen(engine.sync_engine, "after_cursor_execute",
                     lambda _conn, _cursor, statement, *_rest: fired.append(statement))
        try:
            async with engine.connect() as conn:
                names, rows = await driver_rows(conn, SQL)
                fired_by_driver_rows = list(fired)
                expected = await conn.execute(text(SQL))
                return names, rows, list(expected.keys()), [tuple(r) for r in expected], \
                    fired_by_driver_rows
        finally:
            await engine.dispose()

    names, rows, expected_names, expected_rows, fired = _run(scenario())  # text vs binary
    assert names == expected_names == ["n", "half", "label", "day", "ratio", "more", "big"]
    assert rows == expected_rows
    assert [tuple(map(type, r)) for r in rows] == [tuple(map(type, r)) for r in expected_rows]
    assert all(type(row) is tuple for row in rows)
    assert fired == [SQL]


def test_a_driver_error_is_sqlalchemys_error_and_the_connection_stays(pg_url: str) -> None:
    async def scenario():
        engine = make_async_engine(database_urls(pg_url))
        fired: list[str] = []
        event.listen(engine.sync_engine, "after_cursor_execute",
                     lambda *_args: fired.append("ran"))
        try:
            async with engine.connect() as conn:
                with pytest.raises(DataError) as caught:
                    await driver_rows(conn, "SELECT 1 / %(zero)s::int", {"zero": 0})
                after = await driver_rows(conn, "SELECT 2 AS two")
            return caught.value, after, fired
        finally:
            await engine.dispose()

    error, after, fired = _run(scenario())
    assert isinstance(error.orig, psycopg.errors.DivisionByZero)
    assert error.connection_invalidated is False
    assert error.statement == "SELECT 1 / %(zero)s::int"
    assert error.params == {"zero": 0}
    assert after == (["two"], [(2,)])
    assert fired == ["ran"]  # the failed statement fired nothing


def test_a_lost_connection_invalidates_the_pool(pg_url: str) -> None:
    async def scenario():
        engine = make_async_engine(database_urls(pg_url), pool_size=2)
        try:
            async with engine.connect() as first, engine.connect() as second:
                pids = [(await driver_rows(c, "SELECT pg_backend_pid()"))[1][0][0]
                        for c in (first, second)]
            # Both pooled connections are back in the pool: end their backends from outside.
            with psycopg.connect(pg_url.replace("+psycopg", ""), autocommit=True) as outside:
                outside.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid",
                                [pids])
            async with engine.connect() as conn:
                with pytest.raises(DBAPIError) as caught:
                    await driver_rows(conn, "SELECT 1")
            async with engine.connect() as one, engine.connect() as other:
                # Invalidating the pool retires the other connection too: both are new backends.
                fresh = [(await driver_rows(c, "SELECT pg_backend_pid()"))[1][0][0]
                         for c in (one, other)]
            return pids, caught.value, fresh
        finally:
            await engine.dispose()

    pids, error, fresh = _run(scenario())
    assert error.connection_invalidated is True
    assert isinstance(error.orig, psycopg.OperationalError)
    assert not set(fresh) & set(pids)


def test_a_cancelled_statement_invalidates_its_connection(pg_url: str) -> None:
    """A request past its deadline is cancelled while its statement runs: the connection goes,
    as SQLAlchemy's execution lets it go, and the next request gets a working one."""
    async def scenario():
        engine = make_async_engine(database_urls(pg_url), pool_size=1)
        try:
            async with engine.connect() as conn:
                before = (await driver_rows(conn, "SELECT pg_backend_pid()"))[1][0][0]
            async with engine.connect() as conn:
                with pytest.raises(TimeoutError):
                    async with asyncio.timeout(0.3):
                        await driver_rows(conn, "SELECT pg_sleep(5)")
                invalidated = conn.invalidated
            async with engine.connect() as conn:
                after = (await driver_rows(conn, "SELECT pg_backend_pid()"))[1][0][0]
            return before, invalidated, after
        finally:
            await engine.dispose()

    before, invalidated, after = _run(scenario())
    assert invalidated is True
    assert after != before
