"""On Postgres a data request runs its plan's statement as SQL rendered once per plan
(app/query/execute.py `_execute`). Its rows and their Python types are those of SQLAlchemy's
compiled statement, run by SQLAlchemy on an engine of its defaults (rows in Postgres' text
format; driver_rows reads the binary format), for every dataset: each dimension and time grain
alone and in pairs, with and without filters; a sorted page past the first; each release family
(`source`); and, one key at a time, as of the first, a middle and the last release (`as_of`:
statements that differ throughout)."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.datastructures import QueryParams

from app.api.direct import ParamReader
from app.api.params import DATA_MODELS
from app.datasets import DATASETS
from app.db import database_urls, make_async_engine
from app.errors import ApiError
from app.query import execute
from app.query.build import build
from app.query.catalog import CatalogCache
from app.query.sources import choose_family

# Filters with lists (expanded IN clauses), ranges and single values, per dataset.
FILTERS = {
    "seizures": ["drug=fentanyl,cocaine&fiscal_year=2021,2022",
                 "area=tucson-sector&month=2022-01,2022-03"],
    "encounters": ["fiscal_year=2022,2023", "calendar_year=2021&citizenship=mexico,guatemala"],
    "overdose_deaths": ["year=2020,2021", "state=AZ,TX&from=2019&to=2022"],
}


def _questions(name: str, *, pairs: bool = True) -> list[str]:
    dataset = DATASETS[name]
    keys = [d.name for d in dataset.dimensions] + list(dataset.time.grains)
    groups = [(), *((k,) for k in keys), *(itertools.combinations(keys, 2) if pairs else ())]
    questions = ["&".join([f"group_by={','.join(g)}&limit=1000" if g else "limit=5",
                           *([f] if f else [])])
                 for g, f in itertools.product(groups, ["", *FILTERS[name]])]
    measure = dataset.measures[0].name
    for key in keys:
        questions.append(f"group_by={key}&sort=-{measure},{key}&limit=2&offset=3")
        if len(dataset.families) > 1:  # `source` is a parameter only then
            questions.extend(f"group_by={key}&source={f.key}&limit=1000"
                             for f in dataset.families)
    return questions


async def _compare(url: str) -> dict[str, int]:
    engine = make_async_engine(database_urls(url))
    # SQLAlchemy's own engine as it comes: rows in Postgres' text format, read through
    # SQLAlchemy's execution (driver_rows reads the binary format, on the driver's cursor).
    plain = create_async_engine(database_urls(url).async_)
    compared: dict[str, int] = {}
    try:
        cache = CatalogCache(engine, ttl=60)
        current = await cache.get()
        ids = sorted(current.release_by_id)
        catalogs = [("", current)] + [(f"&as_of={i}", await cache.vintage(str(i)))
                                      for i in (ids[0], ids[len(ids) // 2], ids[-1])]
        for name in DATASETS:
            reader = ParamReader(DATA_MODELS[name])
            asked = [(as_of, catalog, question) for as_of, catalog in catalogs
                     for question in _questions(name, pairs=not as_of)]
            for as_of, catalog, question in asked:
                query = question + as_of
                params = reader.read(QueryParams(query))
                assert params is not None, query
                try:
                    spec = params.resolve(catalog)
                    plan = build(spec, choose_family(spec, catalog), catalog)
                except ApiError:
                    continue  # a combination no loaded release carries: a 422, no statement
                async with plain.connect() as conn:
                    compiled = (await conn.execute(plan.statement, plan.parameters())).all()
                async with engine.connect() as conn:
                    keys, rows = await execute._execute(conn, plan)
                assert "psycopg" in plan.rendered, query
                assert keys == [c.name for c in plan.statement.selected_columns], query
                assert [tuple(r) for r in rows] == [tuple(r) for r in compiled], query
                assert ([tuple(map(type, r)) for r in rows]
                        == [tuple(map(type, r)) for r in compiled]), query
                kind = f"{name} as_of" if as_of else name
                compared[kind] = compared.get(kind, 0) + 1
    finally:
        await engine.dispose()
        await plain.dispose()
    return compared


def test_rendered_sql_answers_as_the_compiled_statement(loaded_url, backend):
    if backend != "postgres":
        pytest.skip("SQLite runs the compiled statement (the rendered SQL is Postgres's)")
    compared = asyncio.run(_compare(loaded_url))
    # every dataset had dozens of answerable questions, current and as of a vintage
    assert sorted(compared) == sorted([*DATASETS, *(f"{n} as_of" for n in DATASETS)]), compared
    assert min(compared.values()) >= 20, compared
