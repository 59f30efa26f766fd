"""On Postgres a data request runs its plan's statement as SQL rendered once per plan
(app/query/execute.py `_execute`): over every dataset, every dimension and time grain alone and
every pair of them, with and without filters, its rows and their Python types are those of
SQLAlchemy's compiled statement."""

from __future__ import annotations

import asyncio
import itertools

import pytest
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


def _questions(name: str) -> list[str]:
    dataset = DATASETS[name]
    keys = [d.name for d in dataset.dimensions] + list(dataset.time.grains)
    groups = [(), *((k,) for k in keys), *itertools.combinations(keys, 2)]
    return [("&".join([f"group_by={','.join(g)}&limit=1000" if g else "limit=5", *([f] if f else [])]))
            for g, f in itertools.product(groups, ["", *FILTERS[name]])]


async def _compare(url: str) -> dict[str, int]:
    engine = make_async_engine(database_urls(url))
    compared: dict[str, int] = {}
    try:
        catalog = await CatalogCache(engine, ttl=60).get()
        for name in DATASETS:
            reader = ParamReader(DATA_MODELS[name])
            for query in _questions(name):
                try:
                    spec = reader.read(QueryParams(query)).resolve(catalog)
                    plan = build(spec, choose_family(spec, catalog), catalog)
                except ApiError:
                    continue  # a combination no loaded release carries: a 422, no statement
                async with engine.connect() as conn:
                    compiled = (await conn.execute(plan.statement, plan.parameters())).all()
                    rendered = await execute._execute(conn, plan)
                    keys, rows = list(rendered.keys()), rendered.all()
                assert "postgresql" in plan.rendered, query
                assert keys == [c.name for c in plan.statement.selected_columns], query
                assert [tuple(r) for r in rows] == [tuple(r) for r in compiled], query
                assert ([tuple(map(type, r)) for r in rows]
                        == [tuple(map(type, r)) for r in compiled]), query
                compared[name] = compared.get(name, 0) + 1
    finally:
        await engine.dispose()
    return compared


def test_rendered_sql_answers_as_the_compiled_statement(loaded_url, backend):
    if backend != "postgres":
        pytest.skip("SQLite runs the compiled statement (the rendered SQL is Postgres's)")
    compared = asyncio.run(_compare(loaded_url))
    # every dataset had dozens of answerable questions
    assert sorted(compared) == sorted(DATASETS) and min(compared.values()) >= 20, compared
