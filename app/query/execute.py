"""Running specs: one statement per request, one statement for a batch of figures, and a whole
download streamed from one server-side cursor."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, union_all
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.util import greenlet_spawn, is_exit_exception

from app.query.build import Plan, build, figure_plan, figure_select, question_key, remember
from app.query.catalog import Catalog
from app.query.result import QueryResult, Shaper, finish
from app.query.sources import choose_family
from app.query.spec import QuerySpec


async def run(conn: AsyncConnection, spec: QuerySpec, catalog: Catalog) -> QueryResult:
    """Answer a spec with one SQL statement."""
    plan = build(spec, choose_family(spec, catalog), catalog)
    names, raw_rows = await _execute(conn, plan)
    shaper = Shaper.for_plan(plan, catalog, names)
    result = finish(shaper, shaper.rows(raw_rows), raw_rows)
    if not raw_rows and spec.offset > 0:
        # A page past the end has no row to carry the window count: count the groups instead.
        groups = plan.statement.limit(None).offset(None).order_by(None).subquery()
        result.total_rows = int(await conn.scalar(select(func.count()).select_from(groups)))
    return result


async def _execute(conn: AsyncConnection, plan: Plan) -> tuple[list[str], Sequence[Any]]:
    """Run a plan's statement, its page bound: its column names and rows. On Postgres the
    statement is rendered to the driver's SQL once per data version (IN lists expanded, values
    bound) and run on the driver's connection (`driver_rows`)."""
    driver = conn.dialect.driver
    if driver != "psycopg":  # the SQL below is psycopg's (named placeholders)
        executed = await conn.execute(plan.statement, plan.parameters())
        return list(executed.keys()), executed.all()
    return await driver_rows(conn, *psycopg_sql(plan, conn.dialect))


def psycopg_sql(plan: Plan, dialect: Dialect) -> tuple[str, dict[str, Any]]:
    """A plan's statement as psycopg's SQL and the values it binds, its page included: rendered
    once per plan (IN lists expanded, values bound but the page's), kept on the plan."""
    page = plan.parameters()
    rendered = plan.rendered.get(dialect.driver)
    if rendered is None:
        expanded = plan.statement.compile(dialect=dialect).construct_expanded_state(page)
        values = {k: v for k, v in expanded.parameters.items() if k not in page}
        rendered = plan.rendered[dialect.driver] = (expanded.statement, values)
    sql, values = rendered
    return sql, {**values, **page}


async def driver_rows(conn: AsyncConnection, sql: str,
                      parameters: dict[str, Any] | None = None) -> tuple[list[str], list[tuple]]:
    """Run SQL already in the driver's form (psycopg) on the driver's own connection, checked out
    by `conn`: column names and plain tuples, read in Postgres' binary format (psycopg copies
    floats and integers instead of parsing their text; tests/test_rendered_sql.py compares the
    values and types with SQLAlchemy's text-format reading over the catalog). SQLAlchemy's
    execution around one statement (a greenlet, an execution context, result metadata, a Row
    per row) and the text format cost the worker 6-22 % of an uncached answer's CPU (bench/ab.py
    on a 2-core machine).

    What SQLAlchemy does with the outcome is kept: SQL without parameters is sent with an empty
    mapping, as `exec_driver_sql` sends it (so a doubled `%` of SQL compiled with literal values
    reaches Postgres as one); a driver error or a cancellation goes through SQLAlchemy's own
    handling (the DBAPIError it raises, which the outage handling reads; a lost connection
    invalidating the pool, a cancelled statement its connection; `handle_error` events); the
    statement fires `before_cursor_execute` and, once it ran, `after_cursor_execute` (the outage
    log listens to that one; tests count statements with the first). Listeners see no execution
    context (None) and psycopg's own cursor. No SQLAlchemy transaction begins, so a connection
    invalidated here is replaced by the next statement on `conn` instead of refusing it (callers
    stop at the error)."""
    if parameters is None:
        parameters = {}
    raw = await conn.get_raw_connection()
    cursor = raw.driver_connection.cursor(binary=True)
    sync = conn.sync_connection
    for listener in sync.dispatch.before_cursor_execute:  # as SQLAlchemy calls them
        sql, parameters = listener(sync, cursor, sql, parameters, None, False)
    try:
        await cursor.execute(sql, parameters)
        rows = await cursor.fetchall()
        names = [column.name for column in cursor.description]
    except BaseException as exc:
        # A cancelled request (its deadline) too: SQLAlchemy invalidates the connection then.
        if isinstance(exc, conn.dialect.loaded_dbapi.Error) or is_exit_exception(exc):
            await greenlet_spawn(_handled, sync, exc, sql, parameters)
        raise  # (it raises; so does this for anything else)
    finally:
        await cursor.close()
    sync.dispatch.after_cursor_execute(sync, cursor, sql, parameters, None, False)
    return names, rows


def _handled(sync: Any, exc: BaseException, sql: str, parameters: Any) -> None:
    """SQLAlchemy's handling of an exception its execution met, which reads the exception being
    handled (sys.exc_info()): so it is raised and handled here, in the greenlet."""
    try:
        raise exc
    except BaseException as caught:
        sync._handle_dbapi_exception(caught, sql, parameters, None, None)


@dataclass
class Stream:
    """Every row of a request, read from one cursor as the response is written."""

    result: QueryResult  # meta of the first page (rows: the first row only)
    rows: AsyncIterator[dict[str, Any]]


async def stream(conn: AsyncConnection, spec: QuerySpec, catalog: Catalog) -> Stream:
    """Start a whole download: one statement without a limit, read through a server-side cursor
    in the transaction (one snapshot) of `conn`."""
    plan = build(spec, choose_family(spec, catalog), catalog, page=False)
    cursor = await conn.stream(plan.statement)
    shaper = Shaper.for_plan(plan, catalog, list(cursor.keys()))
    first = await cursor.fetchone()
    head = [shaper.row(first)] if first is not None else []
    result = finish(shaper, head, [first] if first is not None else [])

    async def rows() -> AsyncIterator[dict[str, Any]]:
        try:
            for row in head:
                yield row
            async for raws in cursor.partitions(1000):
                for row in shaper.rows(raws):
                    yield row
        finally:
            await cursor.close()

    return Stream(result, rows())


@dataclass(frozen=True)
class FigureRequest:
    """One total figure: a spec and the measure to add up."""

    spec: QuerySpec
    measure: str


async def figures(conn: AsyncConnection, requests: Sequence[FigureRequest], catalog: Catalog,
                  *, reuse: bool = False) -> list[QueryResult]:
    """Compute many total figures in one statement (UNION ALL), each from its own family and
    rollup; a result per request, in order. `reuse`: the same request objects will be asked
    again in this data version (a registered claim's), so what does not depend on the rows (the
    plans, the SQL, the shapers) is kept for them."""
    if not requests:
        return []
    batch = _batch(requests, catalog, conn.dialect, reuse)
    if conn.dialect.driver == "psycopg":
        names, rows = await driver_rows(conn, batch.sql)
    else:
        executed = await conn.exec_driver_sql(batch.sql)
        names, rows = list(executed.keys()), executed.all()
    if batch.shapers is None:
        # A figure's row read as a one-row answer: (index, value, bookkeeping..., total).
        columns = [*names, "_total"]
        batch.shapers = [
            Shaper.for_plan(plan, catalog, [plan.measures[0] if i == 1 else c
                                            for i, c in enumerate(columns)])
            for plan in batch.plans]
    by_index = {row[0]: (*row, 1) for row in rows}
    out = []
    for index, compiled in enumerate(batch.shapers):
        raw = by_index[index]
        if reuse:
            # What a kept figure's row means (its releases, period, caveats) follows from the row
            # and the plan alone: a row equal to the one seen last time gives the same result.
            # Results are read, never changed, by those who ask for figures.
            seen = batch.results.get(index)
            if seen is not None and seen[0] == raw:
                out.append(seen[1])
                continue
        shaper = compiled.fresh() if reuse else compiled  # a kept shaper never sees a row
        result = finish(shaper, [shaper.row(raw)], [raw])
        if reuse:
            batch.results[index] = (raw, result)
        out.append(result)
    return out


@dataclass
class _Batch:
    """A batch of figures ready to run: each one's plan, the SQL, and once it ran each one's
    shaper (compiled, no row seen). Holds its requests: a memo entry is keyed by their ids."""

    requests: tuple[FigureRequest, ...]
    plans: list[Plan]
    sql: str
    shapers: list[Shaper] | None = None
    # A kept batch's last row and result for each figure (see `figures`).
    results: dict[int, tuple[tuple, QueryResult]] = field(default_factory=dict)


def _batch(requests: Sequence[FigureRequest], catalog: Catalog, dialect: Dialect,
           reuse: bool) -> _Batch:
    key = ("batch", dialect.name, tuple(map(id, requests)))
    if reuse:
        found = catalog.memo.get(key)
        if found is not None and all(a is b for a, b in zip(found.requests, requests, strict=True)):
            return found
    plans, keys = [], []
    for request in requests:
        spec = request.spec.single()
        family = choose_family(spec, catalog)
        plans.append(figure_plan(spec, family, request.measure))
        keys.append((question_key(spec, family), request.measure))
    # The same batch (a claim, a comparison) is built and rendered to SQL once per data version:
    # a batch is long, and binding its parameters anew each time costs more than running it.
    sql_key = ("figures", dialect.name, tuple(keys))
    sql = catalog.memo.get(sql_key)
    if sql is None:
        selects = [figure_select(plan.spec, plan.family, catalog, plan.measures[0], index)
                   for index, plan in enumerate(plans)]
        statement = selects[0] if len(selects) == 1 else union_all(*selects)
        sql = remember(catalog, sql_key, str(statement.compile(
            dialect=dialect, compile_kwargs={"literal_binds": True})))
    batch = _Batch(tuple(requests), plans, sql)
    return remember(catalog, key, batch) if reuse else batch
