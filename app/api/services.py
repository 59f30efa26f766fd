"""One service call per endpoint: from a parsed request to the Document the handler renders."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.api.admission import give_back
from app.api.deps import Context
from app.api.params import DataParams
from app.query import execute as runner
from app.query.catalog import read_version
from app.query.spec import QuerySpec
from app.render.formats import Document
from app.render.meta import data_meta


async def data_document(ctx: Context, params: DataParams) -> Document:
    """Figures of a data endpoint: one page, or every row of a download read from one cursor."""
    page = ctx.page
    if ctx.output.format != "json" and not page.asks("limit") and not page.asks("offset"):
        return await _download(ctx, params)
    catalog = await ctx.catalog()
    spec = params.resolve(catalog)
    async with ctx.engine.connect() as conn:
        result = await runner.run(conn, spec, catalog)
    link = page.next_url(spec.offset, spec.limit, len(result.rows), result.total_rows)
    meta = data_meta(result, catalog, next_url=link, permalink=page.permalink(catalog))
    return Document(result.rows, meta, result.columns, page.download_name)


async def _download(ctx: Context, params: DataParams) -> Document:
    """Every row in one statement, streamed from a server-side cursor in one snapshot: the data
    version is read in the same transaction, so the rows and the ETag cannot disagree."""
    catalog = await ctx.catalog()
    # A download holds its connection while the client reads: at most half the pool may, so
    # slow readers never take the connections every other request (and the catalog) needs.
    slots: asyncio.Semaphore = ctx.request.app.state.download_slots
    give_back(ctx.request)  # its turn: other requests must not queue behind this wait
    await slots.acquire()
    try:
        conn = await _snapshot(ctx.engine)
    except BaseException:
        slots.release()
        raise
    try:
        version = await read_version(conn)
        # A vintage's rows never change; the current data must match the version read here.
        if catalog.vintage is None and version != catalog.version:
            catalog = await ctx.request.app.state.catalogs.at_version(conn, version)
            ctx.request.scope.setdefault("state", {})["catalog"] = catalog
        spec: QuerySpec = params.resolve(catalog)
        streamed = await runner.stream(conn, spec, catalog)
    except BaseException:
        await conn.close()
        slots.release()
        raise

    async def rows() -> Any:
        try:
            async for row in streamed.rows:
                yield row
        finally:
            try:
                await conn.close()
            finally:
                slots.release()

    meta = data_meta(streamed.result, catalog, next_url=None,
                     permalink=ctx.page.permalink(catalog))
    return Document(rows(), meta, streamed.result.columns, ctx.page.download_name)


async def _snapshot(engine: AsyncEngine) -> AsyncConnection:
    """A connection in a transaction that sees one snapshot of the database."""
    conn = await engine.connect()
    if conn.dialect.name == "postgresql":
        await conn.execution_options(isolation_level="REPEATABLE READ")
    await conn.begin()
    return conn
