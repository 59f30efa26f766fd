"""Running specs: one statement per request, one statement for a batch of figures, and a whole
download streamed from one server-side cursor."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from app.query.build import build, figure_plan, figure_select, question_key, remember
from app.query.catalog import Catalog
from app.query.result import QueryResult, Shaper, finish
from app.query.sources import choose_family
from app.query.spec import QuerySpec


async def run(conn: AsyncConnection, spec: QuerySpec, catalog: Catalog) -> QueryResult:
    """Answer a spec with one SQL statement."""
    plan = build(spec, choose_family(spec, catalog), catalog)
    executed = await conn.execute(plan.statement, plan.parameters())
    raw_rows = executed.all()
    shaper = Shaper.for_plan(plan, catalog, list(executed.keys()))
    result = finish(shaper, shaper.rows(raw_rows), raw_rows)
    if not raw_rows and spec.offset > 0:
        # A page past the end has no row to carry the window count: count the groups instead.
        groups = plan.statement.limit(None).offset(None).order_by(None).subquery()
        result.total_rows = int(await conn.scalar(select(func.count()).select_from(groups)))
    return result


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


async def figures(conn: AsyncConnection, requests: Sequence[FigureRequest],
                  catalog: Catalog) -> list[QueryResult]:
    """Compute many total figures in one statement (UNION ALL), each from its own family and
    rollup; a result per request, in order."""
    if not requests:
        return []
    plans, keys = [], []
    for request in requests:
        spec = request.spec.single()
        family = choose_family(spec, catalog)
        plans.append(figure_plan(spec, family, request.measure))
        keys.append((question_key(spec, family), request.measure))
    # The same batch (a claim, a comparison) is built and rendered to SQL once per data version:
    # a batch is long, and binding its parameters anew each time costs more than running it.
    key = ("figures", conn.dialect.name, tuple(keys))
    sql = catalog.memo.get(key)
    if sql is None:
        selects = [figure_select(plan.spec, plan.family, catalog, plan.measures[0], index)
                   for index, plan in enumerate(plans)]
        statement = selects[0] if len(selects) == 1 else union_all(*selects)
        sql = remember(catalog, key, str(statement.compile(
            dialect=conn.dialect, compile_kwargs={"literal_binds": True})))
    executed = await conn.exec_driver_sql(sql)
    # A figure's row read as a one-row answer: (index, value, bookkeeping..., total).
    columns = [*executed.keys(), "_total"]
    columns[1] = None  # the value column takes the measure's name per figure
    by_index = {row[0]: (*row, 1) for row in executed.all()}
    out = []
    for index, plan in enumerate(plans):
        raw = by_index[index]
        named = [plan.measures[0] if c is None else c for c in columns]
        shaper = Shaper.for_plan(plan, catalog, named)
        out.append(finish(shaper, [shaper.row(raw)], [raw]))
    return out
